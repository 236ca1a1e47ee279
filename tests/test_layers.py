"""The package's structure: layers that point one way, a light runtime, a fast start, one error contract."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, isolated_overrides, run_python

LAYERS = ["train.cli", "train.tracking", "train.training", "train.data", "train.runtime"]


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")  # import-linter's command, beside this interpreter
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in done.stdout


def test_no_import_circles():
    import grimp

    graph = grimp.build_graph("train", cache_dir=None)  # no cache folder in the project
    circles = [(a, b) for a in graph.modules for b in graph.find_modules_directly_imported_by(a)
               if a != b and graph.chain_exists(importer=b, imported=a)]
    assert circles == []


def test_the_runtime_imports_nothing_but_numpy_and_the_standard_library():
    code = ("import sys; import train.runtime, train.runtime.predictor;"
            "print(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names)))")
    done = run_python("-c", code)
    assert done.returncode == 0, done.stderr
    outside = {m for m in json.loads(done.stdout.replace("'", '"')) if not m.startswith("_")}
    assert outside <= {"train", "numpy"}


@pytest.mark.parametrize("args", [["--help"], ["--cfg", "job"], ["modle=x"], ["model=nonesuch"]])
def test_cli_answers_before_importing_the_training_stack(args):
    code = ("import sys, runpy; sys.argv = ['train'] + sys.argv[1:]\n"
            "try:\n    runpy.run_module('train', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', sorted(m for m in ('sklearn', 'mlflow', 'datasets', 'scipy', 'pandas') if m in sys.modules))")
    done = run_python("-c", code, *args)
    assert "HEAVY []" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]


def test_tracking_none_trains_and_exports_without_mlflow(tmp_path, small_corpus):
    overrides = isolated_overrides(tmp_path, tracked=False) + [f"data.files=[{small_corpus}]"]
    code = ("import sys, json; from train.training.config import compose_config; from train.training.run import run_training;"
            f"o = run_training(compose_config({overrides!r}));"
            "print(json.dumps([o.run_id, 'mlflow' in sys.modules, str(o.export_dir)]))")
    done = run_python("-c", code)
    assert done.returncode == 0, done.stderr[-3000:]
    run_id, mlflow_imported, export_dir = json.loads(done.stdout.splitlines()[-1])
    assert run_id is None and mlflow_imported is False
    assert (tmp_path / "models" / "theme-classifier" / "manifest.json").is_file()
    assert not (tmp_path / "mlflow.db").exists()


def test_cross_validate_false_skips_cross_validation(tmp_path, small_corpus, trained):
    assert [k for k in trained.metrics if k.startswith("cv/")]  # on by default
    from train.training.config import compose_config
    from train.training.run import run_training

    overrides = isolated_overrides(tmp_path, tracked=False) + [f"data.files=[{small_corpus}]"]
    outcome = run_training(compose_config(overrides + ["trainer.cross_validate=false"]))
    assert not [k for k in outcome.metrics if k.startswith("cv/")]
    assert "realcopy_test/macro_f1" in outcome.metrics


def test_the_objective_is_named_once():
    from hydra import compose, initialize_config_dir

    from train.runtime.paths import CONFIG_DIR

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["objective=realcopy_dev/macro_f1"], return_hydra_config=True)
    assert cfg.hydra.callbacks.mlflow_sweep.metric == "realcopy_dev/macro_f1"


def _one_line_exit_2(done, prog, fragment):
    assert done.returncode == 2, (done.stdout[-1000:], done.stderr[-2000:])
    assert done.stderr.startswith(f"{prog}: ") and done.stderr.count("\n") == 1, done.stderr
    assert fragment in done.stderr, done.stderr


@pytest.mark.slow
def test_every_cli_reports_user_errors_in_one_line(tmp_path):
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes('{"id": "x", "text": "Caf\xe9 tariffs rose.", "labels": ["trade"], "source": "a"}\n'.encode("latin-1"))
    _one_line_exit_2(run_python("-m", "train", *isolated_overrides(tmp_path), f"data.files=[{latin1}]"),
                     "theme-train", "not UTF-8")
    _one_line_exit_2(run_python("-m", "train.cli.predict", "--model", str(tmp_path / "none"), "x"),
                     "theme-predict", "not an exported model")
    _one_line_exit_2(run_python("-m", "train.cli.predict", "--file", str(tmp_path / "missing.txt"),
                                "--model", str(tmp_path)), "theme-predict", "")
    _one_line_exit_2(run_python("-m", "train.cli.promote", f"tracking.uri=sqlite:///{tmp_path}/empty.db"),
                     "theme-promote", "choose what to promote: --version N, --run RUN_ID or --best METRIC")
    _one_line_exit_2(run_python("-m", "train.cli.promote", "--best", "validation/macro_f1",
                                f"tracking.uri=sqlite:///{tmp_path}/empty.db"), "theme-promote", "no experiment")
    _one_line_exit_2(run_python("-m", "train.cli.promote", "trackin=x"), "theme-promote", "")
    _one_line_exit_2(run_python("-m", "train.cli.extract", f"paths.seeds_dir={tmp_path}"), "theme-extract",
                     "no .txt articles")
    _one_line_exit_2(run_python("-m", "train.cli.datacard", f"data.files={tmp_path}/*.jsonl", "~data.evaluation_files"),
                     "theme-datacard", "not UTF-8")


@pytest.mark.slow
def test_the_base_wheel_installs_alone_and_predicts(trained, tmp_path):
    """The wheel without extras: NumPy, mmh3 and pyahocorasick, the compiled kernel, theme-predict and
    Predictor, nothing of the training stack."""
    wheel_dir, venv, source = tmp_path / "wheel", tmp_path / "venv", tmp_path / "source"
    # Built from a copy of the checkout's files: a build in place leaves build/ in the project.
    for name in subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split():
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *map(str, wheel_dir.glob("*.whl"))],
                         capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr[-2000:]
    listed = subprocess.run([str(venv / "bin" / "pip"), "list", "--format=json"], capture_output=True, text=True)
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert {"numpy", "mmh3", "pyahocorasick", "theme-classifier"} <= names and not names & {"scikit-learn", "mlflow", "hydra-core"}
    kernel = subprocess.run([str(venv / "bin" / "python"), "-c", "import train.runtime.kernel as k; print(k.tfidf)"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert "_tfidf" in kernel.stdout, kernel.stdout + kernel.stderr  # the wheel carries the compiled kernel
    done = subprocess.run([str(venv / "bin" / "theme-predict"), "--model", str(trained.export_dir),
                           "Airlines resumed flights to Kabul."], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["themes"] == ["aviation"]
    registry = subprocess.run([str(venv / "bin" / "theme-predict"), "--model", "models:/theme-classifier@champion", "x"],
                              capture_output=True, text=True, cwd=tmp_path)
    assert registry.returncode == 2 and "install theme-classifier[train]" in registry.stderr
