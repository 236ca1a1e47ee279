"""Pipelines from config, trainers, evaluation, thresholds, conversion to the runtime format, publishing."""
