"""The quickstart's provider: a small image-classifier service speaking the Open Inference
Protocol v2 over HTTP, standard library only. `modelci check` verifies it against the consumer's
pact (examples/quickstart/pacts/). The reference service of later work replaces it.

Usage: model_service.py [PORT]   (default 47831; listens on 127.0.0.1)"""

import json
import math
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "classifier"
VERSION = "3"
LABELS = ["setosa", "versicolor", "virginica"]
# A linear model over 4 features (sepal/petal length/width), softmax over 3 classes.
WEIGHTS = [[0.4, 1.4, -2.2, -1.0], [0.5, -1.6, 0.6, -1.3], [-0.9, -0.4, 2.4, 2.3]]
BIASES = [0.3, 1.1, -1.4]
STATES = set()


def predict(row):
    logits = [sum(w * x for w, x in zip(ws, row)) + b for ws, b in zip(WEIGHTS, BIASES)]
    top = max(logits)
    exps = [math.exp(v - top) for v in logits]
    total = sum(exps)
    return [round(e / total, 6) for e in exps]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, body, content_type="application/json"):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return None

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/v2/health/ready":
            return self.send_json(200, {"ready": True})
        if path == f"/v2/models/{MODEL}":
            return self.send_json(200, {
                "name": MODEL,
                "versions": [VERSION],
                "platform": "onnxruntime_onnx",
                "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}],
                "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]}],
            })
        prefix = f"/v2/models/{MODEL}/versions/"
        if path.startswith(prefix):
            version = path[len(prefix):]
            if "model version exists" not in STATES:
                return self.send_json(404, {"error": f"version `{version}` not found"})
            return self.send_json(200, {
                "name": MODEL, "version": version, "ready": True,
                "deployed_at": "2026-11-20T10:00:00Z",
            }, "application/json; charset=utf-8")
        if path.startswith("/v2/models/"):
            name = path[len("/v2/models/"):]
            return self.send_json(404, {"error": f"model `{name}` not found"})
        return self.send_json(404, {"error": "not found"})

    def do_POST(self):
        path = self.path.split("?")[0]
        body = self.read_json()
        if path == "/_pact/state":
            state = (body or {}).get("state", "")
            if (body or {}).get("action") == "teardown":
                STATES.discard(state)
            else:
                STATES.add(state)
            return self.send_json(200, {})
        if path == f"/v2/models/{MODEL}/infer":
            try:
                tensor = body["inputs"][0]
                rows, cols = tensor["shape"]
                data = tensor["data"]
                assert cols == 4 and len(data) == rows * cols
            except (TypeError, KeyError, ValueError, AssertionError):
                return self.send_json(400, {"error": "expected one FP32 input of shape [N, 4]"})
            probs = [p for r in range(rows) for p in predict(data[r * 4:(r + 1) * 4])]
            return self.send_json(200, {
                "model_name": MODEL,
                "model_version": VERSION,
                "outputs": [{"name": "probabilities", "datatype": "FP32",
                             "shape": [rows, 3], "data": probs}],
            })
        return self.send_json(404, {"error": "not found"})


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 47831
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
