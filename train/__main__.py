"""`python -m train`: the training app (see ``train.cli.train``)."""

from train.cli.train import main

if __name__ == "__main__":
    main()
