#!/usr/bin/env python3
"""A small Open Inference Protocol (KServe v2 REST) server for modelci's end-to-end tests.

It serves ONNX models through ONNX Runtime (CPU), with the Python standard library's HTTP
server, and speaks the protocol's JSON encoding:

    GET  /v2                                   server metadata
    GET  /v2/health/live, /v2/health/ready     200 while running
    GET  /v2/models/NAME[/versions/V]          model metadata (inputs, outputs; -1 = dynamic)
    GET  /v2/models/NAME[/versions/V]/ready    200 for a loaded model
    POST /v2/models/NAME[/versions/V]/infer    inference

Bad requests (unknown or missing inputs, wrong datatype or shape, data that does not fit the
shape) answer 400 with {"error": "..."}; unknown models and versions 404. Every model has the
single version "1". Float outputs holding NaN or infinity are written as the bare tokens NaN,
Infinity and -Infinity (as Triton does; Python's json reads them too).

Usage:
    python3 tests/servers/v2_server.py --model NAME=PATH [--model NAME=PATH ...]
        [--host 127.0.0.1] [--port 0] [--fault none|slow:SECONDS|garbage|error500|wrong-metadata]
        [--verbose]

The first line on stdout is exactly `listening on http://HOST:PORT` (port 0 picks a free one).
SIGTERM or SIGINT stops it cleanly (exit status 0).

Faults, for testing how clients cope (they touch only the `infer` call unless said otherwise):
    slow:SECONDS     wait SECONDS before answering
    garbage          answer 200 with a body that is neither UTF-8 nor JSON
    error500         answer 500 with {"error": ...}
    wrong-metadata   the metadata (not inference) declares the first input as FP64 with a wrong
                     fixed shape (each fixed dimension + 1, each dynamic one 1)

Requires numpy and onnxruntime (pip install onnxruntime).
"""

import argparse
import json
import math
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import numpy as np
import onnxruntime as ort

VERSION = "1"
MAX_REQUEST_BYTES = 256 * 1024 * 1024

# ONNX Runtime's type strings -> the protocol's datatypes.
ORT_TO_V2 = {
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(float16)": "FP16",
    "tensor(bfloat16)": "BF16",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(bool)": "BOOL",
    "tensor(string)": "BYTES",
}

# The protocol's datatypes -> numpy element types (BF16 has none in numpy: not servable).
V2_TO_NUMPY = {
    "FP32": np.float32,
    "FP64": np.float64,
    "FP16": np.float16,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "BOOL": np.bool_,
    "BYTES": object,
}

MODEL_PATH = re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?(/ready|/infer)?$")


class HttpError(Exception):
    """An answer other than 200, with the protocol's {"error": ...} body."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def port_of(arg):
    """A session input or output as the protocol's metadata entry."""
    shape = [d if isinstance(d, int) and d >= 0 else -1 for d in (arg.shape or [])]
    return {"name": arg.name, "datatype": ORT_TO_V2.get(arg.type, arg.type), "shape": shape}


def flatten(data, out):
    """The leaves of a possibly nested list, row-major."""
    if isinstance(data, list):
        for item in data:
            flatten(item, out)
    else:
        out.append(data)
    return out


def to_array(spec, declared):
    """Checks one request input against its declared port and returns it as a numpy array."""
    name = spec.get("name")
    datatype = spec.get("datatype")
    if datatype != declared["datatype"]:
        raise HttpError(
            400,
            f"input '{name}': datatype {datatype!r} does not match the model's {declared['datatype']}",
        )
    shape = spec.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise HttpError(400, f"input '{name}': `shape` must be a list of non-negative integers")
    want = declared["shape"]
    if len(shape) != len(want) or any(w >= 0 and w != d for w, d in zip(want, shape)):
        raise HttpError(
            400, f"input '{name}': unexpected shape {shape}, the model expects {want}"
        )
    if "data" not in spec:
        raise HttpError(400, f"input '{name}': no `data` (the binary extension is not supported)")
    values = flatten(spec["data"], [])
    count = math.prod(shape)
    if len(values) != count:
        raise HttpError(
            400,
            f"input '{name}': shape {shape} holds {count} element(s) but `data` has {len(values)}",
        )
    np_type = V2_TO_NUMPY.get(datatype)
    if np_type is None:
        raise HttpError(400, f"input '{name}': datatype {datatype} is not supported here")
    if datatype == "BYTES":
        if not all(isinstance(v, str) for v in values):
            raise HttpError(400, f"input '{name}': BYTES data must be strings")
        return np.array(values, dtype=object).reshape(shape)
    if datatype == "BOOL":
        if not all(isinstance(v, bool) for v in values):
            raise HttpError(400, f"input '{name}': BOOL data must be true or false")
        return np.array(values, dtype=np.bool_).reshape(shape)
    integer = datatype.startswith(("INT", "UINT"))
    for v in values:
        ok = isinstance(v, int) if integer else isinstance(v, (int, float))
        if isinstance(v, bool) or not ok:
            raise HttpError(400, f"input '{name}': {v!r} is not a {datatype} value")
    try:
        return np.array(values, dtype=np_type).reshape(shape)
    except (OverflowError, ValueError) as e:
        raise HttpError(400, f"input '{name}': {e}") from None


class Model:
    """One ONNX model in an ONNX Runtime session."""

    def __init__(self, name, path):
        self.name = name
        self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        self.inputs = [port_of(i) for i in self.session.get_inputs()]
        self.outputs = [port_of(o) for o in self.session.get_outputs()]
        self.lock = threading.Lock()

    def metadata(self, fault):
        inputs = [dict(p) for p in self.inputs]
        if fault == "wrong-metadata" and inputs:
            first = inputs[0]
            first["datatype"] = "FP64"
            first["shape"] = [d + 1 if d >= 0 else 1 for d in first["shape"]] or [1]
        return {
            "name": self.name,
            "versions": [VERSION],
            "platform": "onnxruntime_onnx",
            "inputs": inputs,
            "outputs": [dict(p) for p in self.outputs],
        }

    def infer(self, request):
        if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
            raise HttpError(400, "the request must be a JSON object with an `inputs` list")
        declared = {p["name"]: p for p in self.inputs}
        feeds = {}
        for spec in request["inputs"]:
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise HttpError(400, "every input needs a `name`")
            name = spec["name"]
            if name not in declared:
                raise HttpError(
                    400,
                    f"unknown input '{name}' (the model's inputs: {', '.join(declared)})",
                )
            if name in feeds:
                raise HttpError(400, f"input '{name}' is given twice")
            feeds[name] = to_array(spec, declared[name])
        missing = [n for n in declared if n not in feeds]
        if missing:
            raise HttpError(400, f"missing input(s): {', '.join(missing)}")
        known = [p["name"] for p in self.outputs]
        asked = request.get("outputs")
        if asked is None:
            names = known
        else:
            if not isinstance(asked, list) or not all(
                isinstance(o, dict) and isinstance(o.get("name"), str) for o in asked
            ):
                raise HttpError(400, "`outputs` must be a list of objects with a `name`")
            names = [o["name"] for o in asked]
            unknown = [n for n in names if n not in known]
            if unknown:
                raise HttpError(
                    400,
                    f"unknown output(s) {', '.join(unknown)} (the model's outputs: {', '.join(known)})",
                )
        try:
            with self.lock:
                results = self.session.run(names, feeds)
        except Exception as e:  # ONNX Runtime's refusals are the client's problem here
            raise HttpError(400, f"inference failed: {e}") from None
        datatypes = {p["name"]: p["datatype"] for p in self.outputs}
        outputs = []
        for name, value in zip(names, results):
            array = np.asarray(value)
            outputs.append(
                {
                    "name": name,
                    "datatype": datatypes[name],
                    "shape": list(array.shape),
                    "data": array.reshape(-1).tolist(),
                }
            )
        answer = {"model_name": self.name, "model_version": VERSION, "outputs": outputs}
        if isinstance(request.get("id"), str):
            answer["id"] = request["id"]
        return answer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "modelci-v2-server/1"

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), format % args))

    def answer(self, status, body, content_type="application/json"):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            # Headers and body in one write: two small writes on a kept-alive connection meet
            # Nagle's algorithm and the client's delayed ACK (40 ms per request).
            self._headers_buffer.append(b"\r\n")
            self._headers_buffer.append(body)
            self.flush_headers()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout): nothing to tell

    def route(self, method):
        path = unquote(urlsplit(self.path).path).rstrip("/") or "/"
        models = self.server.models
        fault = self.server.fault
        if path in ("/v2", "/v2/health/live", "/v2/health/ready"):
            if method != "GET":
                raise HttpError(405, f"{path} answers GET only")
            if path == "/v2":
                return {"name": "modelci-v2-server", "version": VERSION, "extensions": []}
            return {"live": True} if path.endswith("live") else {"ready": True}
        m = MODEL_PATH.match(path)
        if not m:
            raise HttpError(404, f"no such endpoint: {path}")
        name, version, action = m.group(1), m.group(2), m.group(3) or ""
        model = models.get(name)
        if model is None:
            raise HttpError(
                404, f"model '{name}' is not loaded (models: {', '.join(sorted(models))})"
            )
        if version is not None and version != VERSION:
            raise HttpError(404, f"model '{name}' has no version '{version}' (versions: {VERSION})")
        if action == "/infer":
            if method != "POST":
                raise HttpError(405, "infer answers POST only")
            request = self.read_json()
            if fault.startswith("slow:"):
                time.sleep(float(fault.split(":", 1)[1]))
            elif fault == "garbage":
                return b"\x00\xff\xfe<html>not json</html>"
            elif fault == "error500":
                raise HttpError(500, "injected fault: internal error")
            return model.infer(request)
        if method != "GET":
            raise HttpError(405, f"{path} answers GET only")
        if action == "/ready":
            return {"name": name, "ready": True}
        return model.metadata(fault)

    def read_json(self):
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            raise HttpError(411, "a Content-Length is required")
        try:
            length = int(length)
        except ValueError:
            self.close_connection = True
            raise HttpError(400, "the Content-Length is not a number") from None
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            raise HttpError(413, f"the request is larger than {MAX_REQUEST_BYTES} bytes")
        body = self.rfile.read(length)
        try:
            return json.loads(body)
        except (UnicodeDecodeError, ValueError) as e:
            raise HttpError(400, f"the body is not JSON: {e}") from None

    def handle_method(self, method):
        try:
            result = self.route(method)
        except HttpError as e:
            self.answer(e.status, {"error": e.message})
            return
        except Exception as e:  # a bug here: say so rather than drop the connection
            self.answer(500, {"error": f"internal error: {e!r}"})
            return
        if isinstance(result, bytes):
            self.answer(200, result, "text/html")
        else:
            self.answer(200, result)

    def do_GET(self):  # noqa: N802 (the base class's naming)
        self.handle_method("GET")

    def do_POST(self):  # noqa: N802
        self.handle_method("POST")


def parse_fault(text):
    if text in ("none", "garbage", "error500", "wrong-metadata"):
        return text
    if text.startswith("slow:"):
        try:
            if float(text.split(":", 1)[1]) >= 0:
                return text
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(
        f"unknown fault {text!r} (none, slow:SECONDS, garbage, error500, wrong-metadata)"
    )


def parse_model(text):
    name, sep, path = text.partition("=")
    if not sep or not name or not path or "/" in name:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", type=parse_model, required=True,
                        metavar="NAME=PATH", help="an ONNX model to serve (repeatable)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--fault", type=parse_fault, default="none")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = parser.parse_args()

    models = {}
    for name, path in args.model:
        if name in models:
            parser.error(f"model {name!r} is given twice")
        try:
            models[name] = Model(name, path)
        except Exception as e:
            print(f"v2_server: cannot load {path}: {e}", file=sys.stderr)
            return 1

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.models = models
    server.fault = args.fault
    server.verbose = args.verbose

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    while not stop.wait(0.2):
        pass
    server.shutdown()
    server.server_close()
    thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
