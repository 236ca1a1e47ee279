"""Score a large sentence table on Apache Spark with a registered MLflow model."""

from __future__ import annotations

import os
import warnings

import train.tracking.env  # noqa: F401  (before mlflow)
import mlflow
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from train.runtime.errors import DataError

# PySpark warns on each pandas UDF that it "does not yet fully support pandas >= 3"; this path
# is tested with pandas 3 (tests/test_streaming.py), so the warning tells users nothing. Spark's
# Python workers inherit the environment.
PANDAS_VERSION_WARNING = "PySpark does not yet fully support pandas"
warnings.filterwarnings("ignore", message=PANDAS_VERSION_WARNING, category=FutureWarning)
os.environ.setdefault("PYTHONWARNINGS", f"ignore:{PANDAS_VERSION_WARNING}:FutureWarning")


def result_type(model_uri: str) -> str:
    """Spark DDL of the model's output: its themes, then a score per theme (from the signature)."""
    outputs = mlflow.models.get_model_info(model_uri).signature.outputs.input_names()
    return "struct<" + ", ".join(f"`{name}`: {'array<string>' if name == 'themes' else 'double'}"
                                 for name in outputs) + ">"


def score_table(spark: SparkSession, table: DataFrame, model_uri: str, text_column: str = "text") -> DataFrame:
    """``table`` with the model's columns (themes, then one score column per theme) appended."""
    if text_column not in table.columns:
        raise DataError(f"no column {text_column!r} in the table (columns: {', '.join(table.columns)}); "
                         "pass --text-column")
    udf = mlflow.pyfunc.spark_udf(spark, model_uri, result_type=result_type(model_uri), env_manager="local")
    scored = table.withColumn("_prediction", udf(F.struct(F.col(text_column).alias("text"))))
    return scored.select(*table.columns, "_prediction.*")
