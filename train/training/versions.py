"""Versions of the packages a model was trained with, recorded in exports and runs."""

from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = (
    "theme-classifier", "scikit-learn", "numpy", "scipy", "pandas", "datasets", "hydra-core", "mlflow", "pysbd",
    "iterative-stratification", "mmh3", "pyahocorasick",
)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions
