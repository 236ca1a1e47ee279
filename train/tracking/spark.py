"""Score a large sentence table on Apache Spark with the registered MLflow model.

    python -m train.spark_score --input sentences.parquet --output scored.parquet \\
        [--model models:/theme-classifier@champion] [--text-column text] [--master local[2]]

On a cluster, submit the same module with spark-submit (``--master yarn`` or
``k8s://...``); the executors need this package and the model's requirements installed,
and read the model from the MLflow store given by MLFLOW_TRACKING_URI.
"""

from __future__ import annotations

import argparse
import os
import sys

import train.mlflow_env  # noqa: F401  (before mlflow)
import mlflow
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


def result_type(model_uri: str) -> str:
    """Spark DDL of the model's output: its themes, then a score per theme (from the signature)."""
    outputs = mlflow.models.get_model_info(model_uri).signature.outputs.input_names()
    return "struct<" + ", ".join(f"`{name}`: {'array<string>' if name == 'themes' else 'double'}"
                                 for name in outputs) + ">"


def score_table(spark: SparkSession, table: DataFrame, model_uri: str, text_column: str = "text") -> DataFrame:
    """``table`` with the model's columns (themes, then one score column per theme) appended."""
    if text_column not in table.columns:
        raise ValueError(f"no column {text_column!r} in the table (columns: {', '.join(table.columns)}); "
                         "pass --text-column")
    udf = mlflow.pyfunc.spark_udf(spark, model_uri, result_type=result_type(model_uri), env_manager="local")
    scored = table.withColumn("_prediction", udf(F.struct(F.col(text_column).alias("text"))))
    return scored.select(*table.columns, "_prediction.*")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theme-spark-score", description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="Parquet table (file or folder) with a text column")
    parser.add_argument("--output", required=True, help="Parquet folder to write")
    parser.add_argument("--model", default="models:/theme-classifier@champion", help="MLflow model URI")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--master", default=None, help="Spark master (default: spark-submit's, else local[*])")
    args = parser.parse_args(argv)
    if "MLFLOW_TRACKING_URI" not in os.environ:
        from train.registry import default_tracking_uri

        mlflow.set_tracking_uri(default_tracking_uri())
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # local workers: this interpreter
    builder = SparkSession.builder.appName("theme-classifier scoring")
    spark = (builder.master(args.master) if args.master else builder).getOrCreate()
    try:
        score_table(spark, spark.read.parquet(args.input), args.model, args.text_column) \
            .write.mode("overwrite").parquet(args.output)
    except ValueError as err:
        print(f"theme-spark-score: {err}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    print(f"scored {args.input} -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
