"""The exported model at run time: the model-folder format, analyzers and ``Predictor``.

Standard library, NumPy and (for hashed features) mmh3 only; nothing else of the package.
"""

from train.runtime.errors import ModelFileError
from train.runtime.predictor import Predictor

__all__ = ["ModelFileError", "Predictor"]
