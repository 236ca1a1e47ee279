"""Labeled data: reading, checking, splitting, the dataset card, seed extraction, Arrow corpora."""
