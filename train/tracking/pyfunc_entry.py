"""MLflow "model from code" entry point: the pyfunc is defined here, not pickled."""

from mlflow.models import set_model

from train.tracking.pyfunc import ThemeModel

set_model(ThemeModel())
