"""Views of the MLflow UI that a URL opens: the experiment's runs compared on the headline
metrics, and one sweep's jobs against the settings they varied.

A view is an experiment tag in the UI's shared-view format (``mlflow.sharedViewState.<key>``,
opened with ``?viewStateShareKey=<key>``). The format is the UI's own, not a documented API:
a UI that cannot read it says so and shows its default view, and nothing else depends on it."""

from __future__ import annotations

from train.training.evaluation import HEADLINE_METRICS

HEADLINE = (*HEADLINE_METRICS, "speed/predict_sentences_per_second", "speed/predict_one_median_ms",
            "size/model_bytes")
COMPARE_VIEW = "compare"
SECTION = "glance"
SECTION_NAME = "At a glance"  # the UI orders chart sections by name: this one comes before every metric prefix


def view_tag(key: str) -> str:
    return f"mlflow.sharedViewState.{key}"


def view_url(base: str, experiment_id: str, key: str, charts: bool = False) -> str:
    mode = "&compareRunsMode=CHART" if charts else ""
    return f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning&viewStateShareKey={key}{mode}"


def compare_view() -> dict:
    """Every run, best on real copy first, with the headline metric columns; its charts plot
    real-copy quality against speed, then each headline metric run by run."""
    charts = [_chart("quality-speed", "SCATTER", xaxis={"key": "speed/predict_sentences_per_second", "type": "METRIC"},
                     yaxis={"key": HEADLINE[0], "type": "METRIC"}, runsCountToCompare=100)]
    charts += [_chart(name, "BAR", metricKey=name) for name in HEADLINE[:5]]
    return _view("", HEADLINE[0], charts)


def sweep_view(parent_run_id: str, params: list[str], metric: str) -> dict:
    """One sweep's jobs: the settings they varied against ``metric`` and the real-copy scores."""
    metrics = list(dict.fromkeys((metric, "realcopy_dev/macro_f1", "realcopy_test/macro_f1")))
    charts = [_chart("settings", "PARALLEL", selectedParams=params, selectedMetrics=metrics, showAllRuns=True)]
    charts += [_chart(name, "BAR", metricKey=name) for name in metrics]
    return _view(f"tags.mlflow.parentRunId = '{parent_run_id}'", metric, charts)


def _chart(uuid: str, kind: str, **fields) -> dict:
    return {"uuid": uuid, "type": kind, "runsCountToCompare": 20, "metricSectionId": SECTION, "deleted": False,
            "isGenerated": False, **fields}


def _view(search: str, order_by: str, charts: list[dict]) -> dict:
    return {
        "searchFilter": search, "orderByKey": f"metrics.`{order_by}`", "orderByAsc": False, "startTime": "ALL",
        "lifecycleFilter": "Active", "datasetsFilter": [], "modelVersionFilter": "All Runs",
        "selectedColumns": [f"metrics.`{name}`" for name in HEADLINE], "columnOrder": [], "columnWidths": {},
        "runsExpanded": {}, "runsPinned": [], "runsHidden": [], "runsVisibilityMap": {}, "runsHiddenMode": "SHOW_ALL",
        "viewMaximized": False, "runListHidden": False, "isAccordionReordered": False, "useGroupedValuesInCharts": True,
        "hideEmptyCharts": True, "groupBy": None, "groupsExpanded": {}, "autoRefreshEnabled": True,
        "compareRunSections": [{"uuid": SECTION, "name": SECTION_NAME, "display": True, "isReordered": False}],
        "compareRunCharts": charts,
    }
