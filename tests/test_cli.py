import json

import pytest
from mlflow.tracking import MlflowClient

from conftest import THEMES, isolated_overrides, run_python
from train.runtime.predictor import Predictor


def runs(tmp):
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp}/mlflow.db")
    experiment = client.get_experiment_by_name("theme-classifier")
    return client, client.search_runs([experiment.experiment_id])


def test_single_run_from_another_directory_trains_exports_and_tracks(tmp_path, small_corpus):
    done = run_python("-m", "train", *isolated_overrides(tmp_path), "model.C=5", f"data.files=[{small_corpus}]",
                      cwd=tmp_path.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "macro-F1" in done.stdout and "exported" in done.stdout
    assert "registered model" not in done.stderr and "Created version" not in done.stderr  # the summary says it
    assert Predictor.load(tmp_path / "models" / "theme-classifier").predict("Visa fees rose.") == ["visas"]
    client, found = runs(tmp_path)
    assert len(found) == 1 and found[0].data.tags["run_kind"] == "single"
    assert found[0].data.params["model.C"] == "5" and "model.C=5" in found[0].data.params["overrides"]
    assert not (tmp_path.parent / "mlruns").exists()  # artifacts went to the configured location


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["basic", "parallel"])
def test_sweep_is_one_parent_with_one_child_per_job(tmp_path, launcher, small_corpus):
    done = run_python("-m", "train", "-m", f"hydra/launcher={launcher}", "model=logreg,sgd,ridge",
                      f"hydra.sweep.dir={tmp_path}/sweep", f"data.files=[{small_corpus}]",
                      *isolated_overrides(tmp_path), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    client, found = runs(tmp_path)
    parents = [r for r in found if r.data.tags.get("run_kind") == "sweep"]
    children = [r for r in found if r.data.tags.get("run_kind") == "sweep_child"]
    assert len(parents) == 1 and len(children) == 3
    parent = parents[0]
    assert all(c.data.tags["mlflow.parentRunId"] == parent.info.run_id for c in children)
    best = max(children, key=lambda c: c.data.metrics["validation/macro_f1"])
    assert parent.data.tags["best_run_id"] == best.info.run_id
    assert parent.info.status == "FINISHED"
    # Trials export into their job folders, never over the model in use; the best one is registered.
    assert not (tmp_path / "models" / "theme-classifier").exists()
    assert len(list((tmp_path / "sweep").glob("*/theme-classifier/manifest.json"))) == 3
    version = client.get_model_version("theme-classifier", parent.data.tags["best_model_version"])
    assert version.run_id == best.info.run_id
    # The summary: the parent, one line per job (best first), the best job and its version.
    lines = done.stdout[done.stdout.index("sweep: MLflow run"):].splitlines()
    assert lines[0] == f"sweep: MLflow run {parent.info.run_id}, 3 jobs, ranked by validation/macro_f1"
    ranked = sorted(children, key=lambda c: -c.data.metrics["validation/macro_f1"])
    assert [line.split()[0] for line in lines[2:5]] == [c.info.run_name.split()[0] for c in ranked]  # model=...
    assert [float(line.split()[1]) for line in lines[2:5]] == [
        round(c.data.metrics["validation/macro_f1"], 3) for c in ranked]
    assert lines[5] == (f"best: {best.info.run_name.split()[0]} (run {best.info.run_id}), registered as "
                        f"models:/theme-classifier/{version.version}")
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "sweep")} == {
        "sweep/jobs.json", "sweep/validation_macro_f1_by_setting.png"}
    assert parent.data.tags["mlflow.note.content"].startswith(f"```\nsweep: MLflow run {parent.info.run_id}")
    view_key = f"sweep-{parent.info.run_id[:8]}"
    assert lines[6] == ("compare the jobs: `mlflow ui`, then http://127.0.0.1:5000/#/experiments/"
                        f"{parent.info.experiment_id}/runs?workflowType=machine_learning&viewStateShareKey={view_key}"
                        "&compareRunsMode=CHART")
    view = json.loads(client.get_experiment(parent.info.experiment_id).tags[f"mlflow.sharedViewState.{view_key}"])
    assert view["searchFilter"] == f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    assert view["compareRunCharts"][0]["selectedParams"] == ["model._target_"]  # what the jobs varied


@pytest.mark.slow
def test_the_readme_sequence_train_sweep_promote_gives_the_outputs_it_shows(tmp_path, small_corpus):
    base = [*isolated_overrides(tmp_path), f"data.files=[{small_corpus}]"]
    single = run_python("-m", "train", *base)
    assert single.returncode == 0, single.stderr[-3000:]
    sweep = run_python("-m", "train", "-m", "model=logreg,ridge", f"hydra.sweep.dir={tmp_path}/sweep", *base)
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    client, found = runs(tmp_path)
    [first] = [r for r in found if r.data.tags["run_kind"] == "single"]
    [parent] = [r for r in found if r.data.tags["run_kind"] == "sweep"]
    guess = run_python("-m", "train.cli.promote", *base)
    assert (guess.returncode, guess.stderr) == (
        2, "theme-promote: choose what to promote: --version N, --run RUN_ID or --best METRIC\n")
    promoted = run_python("-m", "train.cli.promote", "--version", "2", *base)
    assert promoted.returncode == 0, promoted.stderr
    best = client.get_run(parent.data.tags["best_run_id"])
    line, note = promoted.stdout.splitlines()
    assert line.startswith(f"models:/theme-classifier@champion -> version 2 (run {best.info.run_id})  "
                           f"realcopy_test/macro_f1 {best.data.metrics['realcopy_test/macro_f1']:.3f}")
    assert note == (f"note: the local export {tmp_path / 'models' / 'theme-classifier'} is another model (version 1, "
                    f"run {first.info.run_id}): theme-predict and Predictor.load on that folder do not score with "
                    "@champion")
    by_best = run_python("-m", "train.cli.promote", "--best", "realcopy_dev/macro_f1", "--sweep", parent.info.run_id,
                         *base)
    assert by_best.returncode == 0, by_best.stderr
    ranked = max((r for r in found if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id),
                 key=lambda r: r.data.metrics["realcopy_dev/macro_f1"])
    chosen = client.get_model_version_by_alias("theme-classifier", "champion")
    assert chosen.run_id == ranked.info.run_id  # registered first if it was not the sweep's winner
    info = json.loads(run_python("-m", "train.cli.predict", "--info", "--model",
                                 str(tmp_path / "models" / "theme-classifier")).stdout)
    assert (info["run_id"], info["model_version"]) == (first.info.run_id, "1")


def test_predict_command_reads_arguments_file_and_stdin(trained, tmp_path):
    model = str(trained.export_dir)
    by_args = run_python("-m", "train.cli.predict", "--model", model, "Airlines resumed flights to Kabul.", "Tariffs rose.")
    assert by_args.returncode == 0, by_args.stderr
    rows = [json.loads(line) for line in by_args.stdout.splitlines()]
    assert [r["themes"] for r in rows] == [["aviation"], ["trade"]]
    assert set(rows[0]["scores"]) == {"aviation", "counterterrorism", "trade", "visas"}
    sentences = tmp_path / "in.txt"
    sentences.write_text("Airlines resumed flights to Kabul.\n\nTariffs rose.\n", encoding="utf-8")
    by_file = run_python("-m", "train.cli.predict", "--model", model, "--file", str(sentences))
    by_stdin = run_python("-m", "train.cli.predict", "--model", model, input=sentences.read_text())
    assert by_file.stdout == by_stdin.stdout
    lines = by_file.stdout.splitlines()  # one output line per input line, a blank one with no theme
    assert len(lines) == 3 and [lines[0], lines[2]] == by_args.stdout.splitlines()
    assert json.loads(lines[1]) == {"text": "", "themes": [], "scores": dict.fromkeys(THEMES, 0.0)}
    explained = run_python("-m", "train.cli.predict", "--model", model, "--explain", "Tariffs rose.")
    assert "up" in json.loads(explained.stdout)["explanation"]["trade"]


def test_predict_command_writes_tsv_and_a_table_with_the_jsonl_answers(trained):
    model, texts = str(trained.export_dir), ["Airlines resumed\tflights to Kabul.", "", "Tariffs rose."]
    as_json = [json.loads(line) for line in run_python("-m", "train.cli.predict", "--model", model, *texts).stdout.splitlines()]
    tsv = run_python("-m", "train.cli.predict", "--model", model, "--format", "tsv", *texts)
    assert tsv.returncode == 0, tsv.stderr
    header, *rows = [line.split("\t") for line in tsv.stdout.splitlines()]
    assert header == ["themes", *THEMES, "text"] and len(rows) == 3
    for row, expected in zip(rows, as_json):
        assert row[0] == ",".join(expected["themes"]) and row[-1] == expected["text"].replace("\t", " ")
        assert [float(x) for x in row[1:-1]] == [expected["scores"][t] for t in THEMES]
    table = run_python("-m", "train.cli.predict", "--model", model, "--format", "table", *texts).stdout.splitlines()
    assert table[0].split() == ["themes", *THEMES, "text"] and len(table) == 4
    assert table[1].split()[0] == "aviation" and table[2].split()[0] == "-" and table[3].split()[0] == "trade"
    refused = run_python("-m", "train.cli.predict", "--model", model, "--format", "tsv", "--explain", "x")
    assert refused.returncode == 2 and "--explain writes JSON" in refused.stderr


def test_predict_info_says_which_export_run_and_version_it_uses(trained):
    done = run_python("-m", "train.cli.predict", "--model", str(trained.export_dir), "--info")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert (info["run_id"], info["model_version"], info["themes"]) == (trained.run_id, trained.version, THEMES)
    assert info["thresholds"] == Predictor.load(trained.export_dir).thresholds
    from train.runtime.kernel import tfidf

    assert info["scoring"] == ("C kernel" if tfidf is not None else "NumPy (the C kernel is not built)")


def test_predict_command_reports_a_missing_model_in_one_line(tmp_path):
    done = run_python("-m", "train.cli.predict", "--model", str(tmp_path / "none"), "text")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "python -m train" in done.stderr


def test_predict_command_ends_quietly_when_its_reader_stops(trained):
    import subprocess
    import sys

    many = "\n".join(["Tariffs rose."] * 20_000)
    done = subprocess.run(f"{sys.executable} -m train.cli.predict --model {trained.export_dir} | head -1",
                          shell=True, input=many, capture_output=True, text=True, timeout=120)
    assert done.stdout.count("\n") == 1 and json.loads(done.stdout)["themes"] == ["trade"]
    assert done.stderr == ""
