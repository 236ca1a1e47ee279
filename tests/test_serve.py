"""`theme-serve`: MLflow's scoring protocol over the model files, run as the real command on 127.0.0.1."""

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import THEMES, run_python
from test_servers import MLFLOW, free_port, start
from train.training.processes import terminate

THEME_SERVE = str(Path(sys.executable).with_name("theme-serve"))
MAX_BYTES, MAX_ROWS = 20_000, 50  # the test server's bounds: small, to reach them cheaply
TEXTS = ["Airlines resumed direct flights to Kabul.", "Heavy rain flooded the city on Sunday.",
         "The two countries agreed to cut tariffs on textiles.", "Visa rules for students were eased.", ""]
SHAPES = {  # every request shape of MLflow's scoring server, each carrying TEXTS
    "dataframe_split": {"dataframe_split": {"columns": ["text"], "data": [[t] for t in TEXTS]}},
    "dataframe_split with index and another column": {"dataframe_split": {
        "columns": ["id", "text"], "index": list(range(10, 15)), "data": [[i, t] for i, t in enumerate(TEXTS)]}},
    "dataframe_split without row lists": {"dataframe_split": {"columns": ["text"], "data": TEXTS}},
    "dataframe_records": {"dataframe_records": [{"text": t} for t in TEXTS]},
    "instances of strings": {"instances": TEXTS},
    "instances of objects": {"instances": [{"text": t} for t in TEXTS]},
    "inputs of strings": {"inputs": TEXTS},
    "inputs of objects": {"inputs": [{"text": t} for t in TEXTS]},
    "inputs of columns": {"inputs": {"text": TEXTS}},
}


@pytest.fixture(scope="module")
def server(trained, tmp_path_factory):
    """One theme-serve for the module, on the session's trained export."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "theme-serve.log"
    process = start([THEME_SERVE, "--model", str(trained.export_dir), "--port", str(port),
                     "--max-bytes", str(MAX_BYTES), "--max-rows", str(MAX_ROWS)],
                    f"http://127.0.0.1:{port}/health", {}, log)
    yield port
    terminate(process)


@pytest.fixture(scope="module")
def predictor(trained):
    from train import Predictor

    return Predictor.load(trained.export_dir)


def call(port: int, method: str, path: str, body: bytes | str | None = None,
         content_type: str | None = "application/json") -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": content_type} if content_type else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def post(port: int, payload) -> tuple[int, str]:
    return call(port, "POST", "/invocations", json.dumps(payload))


def expected_rows(predictor, texts: list[str]) -> list[dict]:
    """What the MLflow pyfunc answers: themes, then every theme's score, from the Predictor itself."""
    return [{"themes": labels, **scores} for labels, scores in zip(predictor.predict(texts),
                                                                   predictor.predict_proba(texts))]


def assert_one_line_error(status: int, body: str, expected_status: int, fragment: str) -> None:
    assert status == expected_status, body
    assert body.count("\n") == 1 and body.endswith("\n"), body
    error = json.loads(body)
    assert set(error) == {"error_code", "message"} and error["error_code"] == "BAD_REQUEST"
    assert fragment in error["message"], error["message"]
    assert "Traceback" not in body


def test_health_and_ping_name_the_model_and_its_themes(server, trained):
    for path in ("/health", "/ping"):
        status, body = call(server, "GET", path)
        assert status == 200
        health = json.loads(body)
        assert health == {"status": "ok", "themes": THEMES, "model": {
            "name": "theme-classifier", "run_id": trained.run_id, "model_version": trained.version,
            "created": health["model"]["created"]}}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_request_shape_gets_the_predictors_scores(server, predictor, shape):
    status, body = post(server, SHAPES[shape])
    assert status == 200, body
    rows = json.loads(body)["predictions"]
    assert rows == expected_rows(predictor, TEXTS)  # unrounded: the very floats of predict_proba
    assert [list(row) for row in rows] == [["themes", *THEMES]] * len(TEXTS)


def test_one_text_and_no_text(server, predictor):
    status, body = post(server, {"inputs": {"text": TEXTS[0]}})
    assert (status, json.loads(body)["predictions"]) == (200, expected_rows(predictor, TEXTS[:1]))
    status, body = post(server, {"dataframe_split": {"columns": ["text"], "data": []}})
    assert (status, json.loads(body)) == (200, {"predictions": []})


def test_csv_with_a_text_column(server, predictor):
    texts = [*TEXTS[:4], 'Officials said, "tariffs will fall",\nand visas too.']
    rows = "".join(f'{i},"{t.replace(chr(34), chr(34) * 2)}"\n\n' for i, t in enumerate(texts))  # blank lines skipped
    status, body = call(server, "POST", "/invocations", "id,text\n" + rows, "text/csv; charset=utf-8")
    assert status == 200, body
    assert json.loads(body)["predictions"] == expected_rows(predictor, texts)


def test_a_csv_text_as_long_as_a_json_one_is_read(predictor):
    from train.runtime.serving import ScoringApp, texts_from_csv

    ScoringApp(predictor)  # the default 5 MiB bound
    long_text = " ".join([TEXTS[0]] * 4000)  # 168 kB: over the csv module's default field limit of 128 KiB
    assert texts_from_csv(f'text\n"{long_text}"\n'.encode(), 10) == [long_text]


def test_answers_equal_the_mlflow_scoring_servers(server, trained):
    """The same bodies through MLflow's own request handler and the registered pyfunc."""
    import mlflow
    from mlflow.pyfunc import scoring_server

    mlflow.set_tracking_uri(trained.cfg.tracking.uri)
    model = mlflow.pyfunc.load_model(f"models:/theme-classifier/{trained.version}")
    schema = model.metadata.get_input_schema()
    bodies = [(json.dumps(payload), "application/json") for payload in SHAPES.values()]
    bodies.append(("text\n" + "\n".join(TEXTS[:4]) + "\n", "text/csv"))
    for body, content_type in bodies:
        theirs = scoring_server.invocations(body, content_type, model, schema)
        ours = call(server, "POST", "/invocations", body, content_type)
        assert (ours[0], json.loads(ours[1])) == (theirs.status, json.loads(theirs.response)), body


NESTED = "[" * 5_000 + "]" * 5_000  # deeper than Python's recursion limit, within the body bound

BAD_REQUESTS = {  # name: (method, path, body, content type, status, a fragment of the message)
    "malformed JSON": ("POST", "/invocations", '{"inputs": [', "application/json", 400, "not valid JSON"),
    "not UTF-8": ("POST", "/invocations", "text\nCaf\xe9\n".encode("latin-1"), "text/csv", 400, "not UTF-8"),
    "nested too deeply": ("POST", "/invocations", '{"inputs": ' + NESTED + "}", "application/json", 400,
                          "nested too deeply"),
    "a list, not an object": ("POST", "/invocations", "[]", "application/json", 400, "send an object"),
    "no known key": ("POST", "/invocations", '{"data": []}', "application/json", 400, "exactly one of the keys"),
    "two keys": ("POST", "/invocations", '{"inputs": ["a"], "instances": ["a"]}', "application/json", 400,
                 "got instances, inputs"),
    "records not a list": ("POST", "/invocations", '{"dataframe_records": {"text": "a"}}', "application/json", 400,
                           "send a list"),
    "split without text": ("POST", "/invocations", '{"dataframe_split": {"columns": ["body"], "data": [["a"]]}}',
                           "application/json", 400, 'needs a "text" column'),
    "split row too short": ("POST", "/invocations", '{"dataframe_split": {"columns": ["id", "text"], "data": [[1]]}}',
                            "application/json", 400, "data[0] must be a list of 2 values"),
    "split index too short": ("POST", "/invocations",
                              '{"dataframe_split": {"columns": ["text"], "data": [["a"]], "index": []}}',
                              "application/json", 400, "one label per row"),
    "split unknown key": ("POST", "/invocations", '{"dataframe_split": {"rows": [], "data": []}}',
                          "application/json", 400, "takes 'columns', 'data' and 'index' only"),
    "record without text": ("POST", "/invocations", '{"dataframe_records": [{"body": "a"}]}', "application/json", 400,
                            "dataframe_records[0] must be an object with a 'text' field"),
    "inputs without text": ("POST", "/invocations", '{"inputs": {"body": ["a"]}}', "application/json", 400,
                            "no 'text' column"),
    "number text": ("POST", "/invocations", '{"instances": ["a", 3]}', "application/json", 400,
                    "row 1: text is a JSON number, not a string"),
    "null text": ("POST", "/invocations", '{"dataframe_records": [{"text": null}]}', "application/json", 400,
                  "text is a JSON null"),
    "CSV without text": ("POST", "/invocations", "body\na\n", "text/csv", 400, "'text' column"),
    "CSV empty text": ("POST", "/invocations", "id,text\n1,\n", "text/csv", 400, "line 2 has no text"),
    "CSV extra field": ("POST", "/invocations", "text\na,b\n", "text/csv", 400, "quote texts that contain commas"),
    "CSV unclosed quote": ("POST", "/invocations", 'text\n"a\n', "text/csv", 400, "not valid CSV"),
    "plain text": ("POST", "/invocations", "a", "text/plain", 415, "send application/json or text/csv"),
    "no content type": ("POST", "/invocations", "a", None, 415, "'(none)' is not supported"),
    "another charset": ("POST", "/invocations", "{}", "application/json; charset=latin-1", 415, "send UTF-8"),
    "GET invocations": ("GET", "/invocations", None, None, 405, "/invocations takes POST, not GET"),
    "POST health": ("POST", "/health", "{}", "application/json", 405, "/health takes GET"),
    "unknown path": ("GET", "/predict", None, None, 404, "no endpoint /predict"),
    "too many rows": ("POST", "/invocations", json.dumps({"inputs": ["a"] * (MAX_ROWS + 1)}), "application/json",
                      413, f"{MAX_ROWS + 1} texts; send at most {MAX_ROWS}"),
    "too many CSV rows": ("POST", "/invocations", "text\n" + "a\n" * (MAX_ROWS + 1), "text/csv", 413,
                          f"more than {MAX_ROWS} texts"),
    "too large a body": ("POST", "/invocations", json.dumps({"inputs": ["a" * MAX_BYTES]}), "application/json", 413,
                         f"send at most {MAX_BYTES}"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_requests_get_one_line_json_errors(server, case):
    method, path, body, content_type, expected_status, fragment = BAD_REQUESTS[case]
    status, answer = call(server, method, path, body, content_type)
    assert_one_line_error(status, answer, expected_status, fragment)


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_bound(server):
    """No Content-Length to go by: the server counts while reading, and answers before the body ends."""
    with socket.create_connection(("127.0.0.1", server), timeout=30) as connection:
        connection.sendall(b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"text\n" + b"a" * MAX_BYTES
        connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))  # and never the final empty chunk
        answer = b""
        while not answer.endswith(b"}\n") and (received := connection.recv(65536)):
            answer += received
    head, _, body = answer.decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 413")
    assert_one_line_error(413, body, 413, f"more than {MAX_BYTES} bytes")


def test_405_names_the_allowed_method(server):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    connection.request("PUT", "/invocations", body="{}")
    response = connection.getresponse()
    assert (response.status, response.getheader("Allow")) == (405, "POST")
    connection.close()


def test_a_bad_model_is_one_line_and_exit_2(tmp_path):
    done = subprocess.run([THEME_SERVE, "--model", str(tmp_path / "nonesuch"), "--port", str(free_port())],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("theme-serve: ") and done.stderr.count("\n") == 1, done.stderr
    assert "not an exported model" in done.stderr


def test_without_uvicorn_it_says_what_to_install(tmp_path, trained):
    (tmp_path / "uvicorn.py").write_text("raise ImportError('No module named uvicorn')\n")
    done = subprocess.run([THEME_SERVE, "--model", str(trained.export_dir)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert (done.returncode, done.stderr) == (2, "theme-serve: uvicorn is not installed; "
                                                 "install theme-classifier[serve]\n")


def test_the_application_imports_nothing_but_the_runtime():
    code = ("import sys, train.runtime.serving;"
            "print(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names)))")
    done = run_python("-c", code)
    assert done.returncode == 0, done.stderr
    assert {m for m in json.loads(done.stdout.replace("'", '"')) if not m.startswith("_")} <= {"train", "numpy"}


# --- the application in-process: what a subprocess cannot show -------------------------------

def asgi_request(app, method: str, path: str, body: bytes = b"", content_type: str = "application/json"):
    """Drive ``app`` as an ASGI server would: (status, parsed JSON body)."""
    sent, messages = [], [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": [(b"content-type", content_type.encode())]}
    return app(scope, receive, send), sent


def answer_of(sent: list[dict]) -> tuple[int, dict]:
    return sent[0]["status"], json.loads(sent[1]["body"])


class BlockingPredictor:
    """Scores only when released, or fails: stands in for a slow or broken model."""

    def __init__(self, predictor, fail: bool = False):
        self.themes, self.thresholds, self.info = predictor.themes, predictor.thresholds, predictor.info
        self._predictor, self._fail, self.release = predictor, fail, threading.Event()

    def scores(self, texts):
        if self._fail:
            raise RuntimeError("a bug\nwith a second line")
        self.release.wait(timeout=30)
        return self._predictor.scores(texts)

    def themes_over_threshold(self, scores):
        return self._predictor.themes_over_threshold(scores)


def test_health_answers_while_a_request_is_scored(predictor):
    from train.runtime.serving import ScoringApp

    slow = BlockingPredictor(predictor)
    app = ScoringApp(slow)

    async def scenario():
        scoring, scored = asgi_request(app, "POST", "/invocations", json.dumps({"inputs": TEXTS}).encode())
        scoring = asyncio.ensure_future(scoring)
        await asyncio.sleep(0.05)
        health, answered = asgi_request(app, "GET", "/health")
        await asyncio.wait_for(health, timeout=5)  # while scoring still waits in its thread
        assert not scoring.done() and answer_of(answered)[0] == 200
        slow.release.set()
        await scoring
        return answer_of(scored)

    status, answer = asyncio.run(scenario())
    assert (status, answer["predictions"]) == (200, expected_rows(predictor, TEXTS))


def test_a_failure_inside_is_500_with_one_line_and_no_traceback(predictor, caplog):
    from train.runtime.serving import ScoringApp

    app = ScoringApp(BlockingPredictor(predictor, fail=True))
    call_app, sent = asgi_request(app, "POST", "/invocations", json.dumps({"inputs": ["a"]}).encode())
    asyncio.run(call_app)
    body = sent[1]["body"].decode()
    assert sent[0]["status"] == 500 and body.count("\n") == 1 and "Traceback" not in body and "a bug" not in body
    assert json.loads(body) == {"error_code": "INTERNAL_ERROR",
                                "message": "the server failed to score this request; see the server log"}
    assert "RuntimeError: a bug" in caplog.text  # the traceback stays in the server's log


def test_rows_are_the_pyfunc_frames_rows(predictor):
    from train.runtime.serving import ScoringApp
    from train.tracking.pyfunc import predict_frame

    assert ScoringApp(predictor).rows(TEXTS) == predict_frame(predictor, TEXTS).to_dict(orient="records")


@pytest.mark.slow
def test_answers_equal_a_running_mlflow_models_serve(server, trained, tmp_path):
    """The registered version served by ``mlflow models serve`` and theme-serve, over HTTP alike."""
    port = free_port()
    mlflow_server = start([MLFLOW, "models", "serve", "-m", f"models:/theme-classifier/{trained.version}",
                           "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)],
                          f"http://127.0.0.1:{port}/ping", {"MLFLOW_TRACKING_URI": trained.cfg.tracking.uri},
                          tmp_path / "mlflow-serve.log")
    try:
        for payload in SHAPES.values():
            theirs, ours = post(port, payload), post(server, payload)
            assert (ours[0], json.loads(ours[1])) == (theirs[0], json.loads(theirs[1])), payload
    finally:
        terminate(mlflow_server)
