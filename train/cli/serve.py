"""`theme-serve`: an HTTP scoring server that reads the model's files and runs none of its code.

    theme-serve                                              # the project's export, 127.0.0.1:5000
    theme-serve --model models:/theme-classifier@champion --port 5001
    curl -s 127.0.0.1:5000/invocations -H 'Content-Type: application/json' \\
      -d '{"dataframe_records": [{"text": "Airlines resumed flights to Kabul."}]}'

The requests and answers of ``mlflow models serve``; needs the ``[serve]`` extra (uvicorn),
and ``[train]`` for ``models:/`` URIs.
"""

from __future__ import annotations

import argparse
import sys

from train.cli.errors import user_errors
from train.runtime.errors import UserError
from train.runtime.paths import DEFAULT_MODEL
from train.runtime.predictor import Predictor
from train.runtime.serving import MAX_BYTES, MAX_ROWS, ScoringApp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theme-serve", description="Serve the theme classifier over HTTP.")
    parser.add_argument("--model", default=str(DEFAULT_MODEL),
                        help="exported model folder or models:/<name>@<alias> (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=5000, help="port to listen on (default: %(default)s)")
    parser.add_argument("--max-bytes", type=_positive, default=MAX_BYTES,
                        help="largest request body accepted (default: %(default)s)")
    parser.add_argument("--max-rows", type=_positive, default=MAX_ROWS,
                        help="most texts accepted in one request (default: %(default)s)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of startup errors")
    args = parser.parse_args(argv)
    with user_errors("theme-serve", args.debug):
        try:  # before loading: a missing server should not wait for a model download
            import uvicorn
        except ImportError:
            raise UserError("uvicorn is not installed; install theme-classifier[serve]") from None
        predictor = Predictor.load(args.model)  # n_jobs=1: requests are scored in threads
    uvicorn.run(ScoringApp(predictor, max_bytes=args.max_bytes, max_rows=args.max_rows),
                host=args.host, port=args.port)
    return 0


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return int(value)


if __name__ == "__main__":
    sys.exit(main())
