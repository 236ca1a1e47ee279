"""The exported model at run time: the model-folder format, analyzers and ``Predictor``.

Standard library, NumPy, the package's own C kernel where it was compiled (``kernel``), and
what a model's features need (mmh3 for hashed features, pyahocorasick for cue features)
only; nothing else of the package.
"""

from train.runtime.errors import ModelFileError
from train.runtime.predictor import Predictor

__all__ = ["ModelFileError", "Predictor"]
