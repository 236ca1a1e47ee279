"""`theme-spark-score`: score a Parquet table of any size on Apache Spark with the registered model.

    theme-spark-score --input sentences.parquet --output scored.parquet [--master local[2]]

On a cluster, submit the module with spark-submit (``--master yarn`` or ``k8s://...``);
the executors need this package and the model's requirements, and the MLflow store.
"""

from __future__ import annotations

import argparse
import os
import sys

from train.cli.compose import add_overrides, composed
from train.cli.errors import user_errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theme-spark-score", description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="Parquet table (file or folder) with a text column")
    parser.add_argument("--output", required=True, help="Parquet folder to write")
    parser.add_argument("--model", help="MLflow model URI (default: models:/<name>@champion)")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--master", default=None, help="Spark master (default: spark-submit's, else local[*])")
    add_overrides(parser)
    args = parser.parse_args(argv)
    cfg = composed("theme-spark-score", args.overrides)
    with user_errors("theme-spark-score", cfg.debug):
        import mlflow
        from pyspark.sql import SparkSession

        from train.tracking.spark import score_table

        mlflow.set_tracking_uri(cfg.tracking.uri)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # local workers: this interpreter
        builder = SparkSession.builder.appName("theme-classifier scoring")
        spark = (builder.master(args.master) if args.master else builder).getOrCreate()
        try:
            model = args.model or f"models:/{cfg.tracking.registered_model_name or cfg.name}@champion"
            score_table(spark, spark.read.parquet(args.input), model, args.text_column) \
                .write.mode("overwrite").parquet(args.output)
        finally:
            spark.stop()
    print(f"scored {args.input} -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
