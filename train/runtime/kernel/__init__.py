"""The predictor's C kernel (``_tfidf.c``), where the install could compile it.

``tfidf`` is the compiled module, or None where no C compiler was at hand: the predictor
then takes its NumPy path, which gives the same scores, several times slower.
"""

try:
    from train.runtime.kernel import _tfidf as tfidf
except ImportError:
    tfidf = None

__all__ = ["tfidf"]
