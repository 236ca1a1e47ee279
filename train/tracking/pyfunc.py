"""The exported predictor as an MLflow pyfunc model: a ``text`` column in, themes and scores out."""

from __future__ import annotations

import train.tracking.env  # noqa: F401  (before mlflow)
import mlflow.pyfunc
import pandas as pd

from train.runtime.predictor import Predictor

ARTIFACT_KEY = "predictor"


def texts_from(model_input) -> list[str]:
    """The sentences in a DataFrame's ``text`` column, a Series, or a list of strings."""
    if isinstance(model_input, pd.DataFrame):
        if "text" not in model_input.columns:
            raise ValueError(f"input needs a 'text' column; got columns {list(model_input.columns)}")
        model_input = model_input["text"]
    if isinstance(model_input, pd.Series):
        if model_input.isna().any():
            raise ValueError("the 'text' column has missing values; drop or fill them")
        return model_input.tolist()
    return list(model_input)


class ThemeModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        self.predictor = Predictor.load(context.artifacts[ARTIFACT_KEY])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return predict_frame(self.predictor, texts_from(model_input))


def predict_frame(predictor: Predictor, texts: list[str]) -> pd.DataFrame:
    """One row per text: its themes, then a score column per theme."""
    scores = predictor.scores(texts)  # scored once, for the themes and the score columns
    frame = pd.DataFrame(scores, columns=list(predictor.themes))
    frame.insert(0, "themes", predictor.themes_over_threshold(scores))
    return frame
