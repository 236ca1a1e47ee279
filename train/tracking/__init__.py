"""MLflow: runs, registry, the pyfunc flavour, the sweep callback, Spark scoring."""
