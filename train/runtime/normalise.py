"""Text normalisation applied to every sentence before its n-grams, in training and prediction alike.

Real copy arrives with typographic quotes and dashes, compatibility characters (ligatures,
full-width letters, non-breaking spaces) and invisible format characters (zero-width spaces,
soft hyphens, byte-order marks) that split or hide words. Mapping them to one plain form
makes "visa‑free", "visa-free" and "visa\u00adfree" the same features.
"""

from __future__ import annotations

import re
import unicodedata

NORMALISATION = "nfkc-punct-v1"  # recorded in every export; the predictor applies the same

_PUNCTUATION = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "\u0060": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
})
# Unicode category Cf (format): zero-width spaces and joiners, soft hyphen, BOM, bidi marks.
# Written out (Unicode 15) rather than computed: scanning every code point costs 0.5 s at import.
_FORMAT = re.compile("[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]")


def normalise_text(text: str) -> str:
    """NFKC, invisible format characters removed, curly quotes and dashes made plain."""
    if text.isascii():
        return text  # the common case: nothing to do
    return _FORMAT.sub("", unicodedata.normalize("NFKC", text)).translate(_PUNCTUATION)
