"""The project root, from which every default path derives (whatever the working directory)."""

from __future__ import annotations

import os
from pathlib import Path

# THEME_CLASSIFIER_ROOT lets an installed copy point at a checkout holding conf/ and data/.
PROJECT_ROOT = Path(os.environ.get("THEME_CLASSIFIER_ROOT", Path(__file__).resolve().parents[2]))
CONFIG_DIR = PROJECT_ROOT / "conf"
SEEDS_DIR = PROJECT_ROOT / "seeds"
DATA_DIR = PROJECT_ROOT / "data"
MODELS_DIR = PROJECT_ROOT / "models"
EXTRACTED_SEEDS = DATA_DIR / "extracted" / "seed_sentences.jsonl"
DEFAULT_MODEL = MODELS_DIR / "theme-classifier"
