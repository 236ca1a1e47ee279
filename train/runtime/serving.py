"""The ASGI application of ``theme-serve``: MLflow's scoring protocol over an exported ``Predictor``.

    app = ScoringApp(Predictor.load("models/theme-classifier"))   # run it with any ASGI server

``GET /health`` and ``GET /ping`` describe the model; ``POST /invocations`` takes the request
shapes of ``mlflow models serve`` (JSON ``dataframe_split``, ``dataframe_records``,
``instances``, ``inputs``; or CSV with a ``text`` column) and answers with the rows the MLflow
pyfunc gives: ``{"predictions": [{"themes": [...], "<theme>": score, ...}, ...]}``. Unlike
``mlflow models serve``, it runs no code from the model: only the model folder's data is read.
Standard library and the runtime only, so the server is one dependency (uvicorn) on top.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging


from train.runtime.predictor import Predictor

MAX_BYTES = 5 * 1024 * 1024  # request body bound
MAX_ROWS = 10_000  # texts per request
JSON_TYPE, CSV_TYPE = "application/json", "text/csv"
FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")  # MLflow's JSON keys
HEALTH_PATHS = ("/health", "/ping")  # /ping as MLflow's server answers it
INVOCATIONS_PATH = "/invocations"

log = logging.getLogger("theme-serve")


class RequestError(Exception):
    """A request that cannot be scored as sent; the message says what to fix."""

    def __init__(self, status: int, message: str, headers: tuple[tuple[bytes, bytes], ...] = ()):
        super().__init__(message)
        self.status, self.headers = status, headers


class ScoringApp:
    """An ASGI application that labels the texts of ``/invocations`` requests with ``predictor``."""

    def __init__(self, predictor: Predictor, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS):
        if max_bytes < 1 or max_rows < 1:
            raise ValueError(f"max_bytes and max_rows must be positive; got {max_bytes} and {max_rows}")
        self.predictor, self.max_bytes, self.max_rows = predictor, max_bytes, max_rows
        # A CSV text may be as long as a JSON one: the csv module's own field limit is 128 KiB (process-wide).
        csv.field_size_limit(max(csv.field_size_limit(), max_bytes))
        model = {key: predictor.info[key] for key in ("name", "run_id", "model_version", "created")
                 if key in predictor.info}
        self._health = _json_body({"status": "ok", "model": model, "themes": list(predictor.themes)})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "http":
            headers = ()
            try:
                status, body = await self._answer(scope, receive)
            except _Disconnected:
                return
            except RequestError as err:
                status, body, headers = err.status, _error_body("BAD_REQUEST", str(err)), err.headers
            except Exception:  # a bug: its traceback goes to the server log, never to the client
                log.exception("%s %s failed", scope["method"], scope["path"])
                status, body = 500, _error_body("INTERNAL_ERROR", "the server failed to score this request; "
                                                                  "see the server log")
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", JSON_TYPE.encode()),
                                    (b"content-length", str(len(body)).encode()), *headers]})
            await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope, receive) -> tuple[int, bytes]:
        path, method = scope["path"], scope["method"]
        if path in HEALTH_PATHS:
            _require_method(method, "GET", path)
            return 200, self._health
        if path != INVOCATIONS_PATH:
            raise RequestError(404, f"no endpoint {path}; use POST {INVOCATIONS_PATH} or GET /health")
        _require_method(method, "POST", path)
        headers = dict(scope["headers"])  # ASGI gives lower-case header names
        parse = _parser_for(headers.get(b"content-type", b"").decode("latin-1"))
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise RequestError(413, f"the body has {int(declared)} bytes; send at most {self.max_bytes} per request")
        texts = parse(await self._body(receive), self.max_rows)
        # CPU-bound: scored in a worker thread, so /health answers meanwhile.
        return 200, _json_body({"predictions": await asyncio.to_thread(self.rows, texts)})

    async def _body(self, receive) -> bytes:
        """The request body, read a chunk at a time and given up as soon as it passes the bound."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise RequestError(413, f"the body has more than {self.max_bytes} bytes; send at most that many "
                                        "per request")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def rows(self, texts: list[str]) -> list[dict]:
        """One row per text, as the MLflow pyfunc's ``predict_frame`` gives it: the themes over
        their thresholds, then a score per theme (scored once)."""
        if not texts:
            return []
        scores = self.predictor.scores(texts)
        return [{"themes": labels, **dict(zip(self.predictor.themes, row))}
                for labels, row in zip(self.predictor.themes_over_threshold(scores), scores.tolist())]


class _Disconnected(Exception):
    """The client went away before its request was read: nobody is left to answer."""


async def _lifespan(receive, send) -> None:
    """Nothing to start or stop: the predictor is loaded before the server starts."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _require_method(method: str, allowed: str, path: str) -> None:
    if method != allowed:
        raise RequestError(405, f"{path} takes {allowed}, not {method}", ((b"allow", allowed.encode()),))


def _parser_for(content_type: str):
    """The body parser of a Content-Type; UTF-8 only, as MLflow's server."""
    mime, *parameters = [part.strip() for part in content_type.split(";")]
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() != "charset" or value.strip().strip('"').lower() != "utf-8":
            raise RequestError(415, f"unsupported Content-Type parameter {parameter!r}; send UTF-8 with no "
                                    "parameters other than charset=utf-8")
    parsers = {JSON_TYPE: texts_from_json, CSV_TYPE: texts_from_csv}
    if mime.lower() not in parsers:
        raise RequestError(415, f"Content-Type {content_type or '(none)'!r} is not supported; "
                                f"send {JSON_TYPE} or {CSV_TYPE}")
    return parsers[mime.lower()]


def texts_from_json(body: bytes, max_rows: int) -> list[str]:
    """The texts of a JSON request in one of MLflow's scoring shapes, at most ``max_rows``."""
    try:
        request = json.loads(_decoded(body))
    except RecursionError:
        raise RequestError(400, "the JSON is nested too deeply; send texts as a flat list") from None
    except ValueError as err:
        raise RequestError(400, f"the body is not valid JSON ({err}); send a JSON object such as "
                                '{"dataframe_records": [{"text": "..."}]}') from None
    if not isinstance(request, dict):
        raise RequestError(400, f"the body is a JSON {_kind(request)}; send an object with one of the keys "
                                f"{', '.join(FORMATS)}")
    given = [key for key in FORMATS if key in request]  # other keys are ignored, as MLflow does
    if len(given) != 1:
        raise RequestError(400, f"the body needs exactly one of the keys {', '.join(FORMATS)}; "
                                f"got {', '.join(given) or ', '.join(map(str, request)) or 'none'}")
    key = given[0]
    payload = request[key]
    if key == "dataframe_split":
        texts = _split_texts(payload)
    elif key == "dataframe_records":
        texts = _records_texts(payload, key)
    elif isinstance(payload, dict) and key == "inputs":  # columns: {"text": [...]}
        if "text" not in payload:
            raise RequestError(400, f"inputs has no 'text' column (got {', '.join(map(str, payload)) or 'none'}); "
                                    'send {"inputs": {"text": ["..."]}}')
        texts = payload["text"]
        if isinstance(texts, str):  # one text, as MLflow's server takes it
            texts = [texts]
        elif not isinstance(texts, list):
            raise RequestError(400, f"inputs.text is a JSON {_kind(texts)}; send a list of strings")
    elif isinstance(payload, list) and payload and isinstance(payload[0], dict):
        texts = _records_texts(payload, key)
    elif isinstance(payload, list):
        texts = payload
    else:
        raise RequestError(400, f"{key} is a JSON {_kind(payload)}; send a list of strings or of "
                                '{"text": "..."} objects')
    if len(texts) > max_rows:
        raise RequestError(413, _too_many(len(texts), max_rows))
    return _checked_texts(texts, key)


def _split_texts(split) -> list:
    """The ``text`` column of ``{"columns": [...], "data": [[...], ...], "index": [...]}``."""
    if not isinstance(split, dict):
        raise RequestError(400, f"dataframe_split is a JSON {_kind(split)}; send "
                                '{"columns": ["text"], "data": [["..."]]}')
    unknown = set(split) - {"columns", "data", "index"}
    if unknown or "data" not in split:
        raise RequestError(400, "dataframe_split takes 'columns', 'data' and 'index' only, and needs 'data'; "
                                f"got {', '.join(map(str, split)) or 'none'}")
    columns, data = split.get("columns"), split["data"]
    if not isinstance(columns, list) or "text" not in columns:
        raise RequestError(400, f"dataframe_split.columns is {json.dumps(columns)[:200]}; "
                                'it needs a "text" column')
    if not isinstance(data, list):
        raise RequestError(400, f"dataframe_split.data is a JSON {_kind(data)}; send a list of rows")
    if "index" in split and (not isinstance(split["index"], list) or len(split["index"]) != len(data)):
        raise RequestError(400, f"dataframe_split.index must list one label per row of data ({len(data)})")
    if columns == ["text"] and not any(isinstance(row, list) for row in data):
        return data  # one column's values without their row lists: pandas takes those too
    where = columns.index("text")
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise RequestError(400, f"dataframe_split.data[{i}] must be a list of {len(columns)} values, "
                                    "one per column")
    return [row[where] for row in data]


def _records_texts(records, key: str) -> list:
    """The ``text`` field of each ``{"text": "..."}`` object of a list."""
    if not isinstance(records, list):
        raise RequestError(400, f"{key} is a JSON {_kind(records)}; send a list of {{\"text\": \"...\"}} objects")
    for i, record in enumerate(records):
        if not isinstance(record, dict) or "text" not in record:
            raise RequestError(400, f"{key}[{i}] must be an object with a 'text' field")
    return [record["text"] for record in records]


def _checked_texts(texts: list, where: str) -> list[str]:
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise RequestError(400, f"{where} row {i}: text is a JSON {_kind(text)}, not a string; "
                                    "send every text as a string (drop or fill missing ones)")
    return texts


def texts_from_csv(body: bytes, max_rows: int) -> list[str]:
    """The ``text`` column of a CSV body with a header row, at most ``max_rows``; blank lines are
    skipped, as pandas does."""
    reader = csv.reader(io.StringIO(_decoded(body), newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or "text" not in header:
            raise RequestError(400, f"the CSV header is {header or 'missing'}; its first line must name a "
                                    "'text' column")
        where, texts = header.index("text"), []
        for row in reader:
            if not row:
                continue
            if len(row) > len(header):
                raise RequestError(400, f"CSV line {reader.line_num} has {len(row)} fields for {len(header)} "
                                        "columns; quote texts that contain commas")
            # pandas, which MLflow's server parses CSV with, reads an empty field as missing
            if where >= len(row) or not row[where]:
                raise RequestError(400, f"CSV line {reader.line_num} has no text; drop or fill rows with none")
            texts.append(row[where])
            if len(texts) > max_rows:  # stop parsing: the request is refused anyway
                raise RequestError(413, _too_many(f"more than {max_rows}", max_rows))
    except csv.Error as err:
        raise RequestError(400, f"the body is not valid CSV (line {reader.line_num}: {err}); "
                                "quote texts with commas, quotes or line breaks") from None
    return texts


def _too_many(count, max_rows: int) -> str:
    return f"{count} texts; send at most {max_rows} per request"


def _decoded(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RequestError(400, f"the body is not UTF-8 (byte {err.start}); encode it as UTF-8") from None


def _kind(value) -> str:
    """The JSON name of a decoded value's type, for messages."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _json_body(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8") + b"\n"


def _error_body(code: str, message: str) -> bytes:
    return _json_body({"error_code": code, "message": " ".join(message.split())})  # one line, whatever the cause
