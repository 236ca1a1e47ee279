"""Theme classifier for English news sentences: trade, counterterrorism, aviation, visas."""

from train.runtime import Predictor

__all__ = ["Predictor"]
__version__ = "0.1.0"
