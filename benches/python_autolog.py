#!/usr/bin/env python3
"""MLflow Python autolog's overhead on one chat call, for comparison with `cargo bench`.

A local HTTP server answers every /chat/completions with the same small completion; the
openai client calls it N times without tracing, N times with `mlflow.openai.autolog()`
(traces logged to a temporary SQLite store, as MLflow does by default), and N times without
again. Prints per-call medians (wall) and process CPU per call. Run by scripts/bench.sh.
"""
import http.server
import json
import os
import statistics
import sys
import tempfile
import threading
import time

N = int(os.environ.get("N", "300"))
BODY = json.dumps({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "deepseek-chat",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "The capital of France is Paris."}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
}).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp()
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    import mlflow
    import openai

    mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
    # Artifacts in the temporary directory too (the default is ./mlruns in the working dir).
    mlflow.create_experiment("bench", artifact_location=f"file://{tmp}/artifacts")
    mlflow.set_experiment("bench")
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{server.server_port}", api_key="x",
                           max_retries=0)
    messages = [{"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "What is the capital of France?"}]

    def run(n):
        walls = []
        cpu0 = time.process_time()
        for _ in range(n):
            t = time.perf_counter()
            client.chat.completions.create(model="deepseek-chat", messages=messages,
                                           temperature=0.1, max_tokens=100)
            walls.append(time.perf_counter() - t)
        return statistics.median(walls), (time.process_time() - cpu0) / n

    run(20)  # warm up
    plain1 = run(N)
    mlflow.openai.autolog()
    run(20)
    traced = run(N)
    mlflow.openai.autolog(disable=True)
    plain2 = run(N)
    plain = (min(plain1[0], plain2[0]), min(plain1[1], plain2[1]))
    us = lambda s: f"{s * 1e6:.1f} µs"
    print("\n| MLflow Python autolog (openai client, local server) | per call |\n|---|---|")
    print(f"| plain call, median wall | {us(plain[0])} |")
    print(f"| autolog call, median wall | {us(traced[0])} |")
    print(f"| autolog overhead, wall | {us(traced[0] - plain[0])} |")
    print(f"| autolog overhead, process CPU | {us(traced[1] - plain[1])} |")
    print(f"(mlflow {mlflow.__version__}, openai {openai.__version__}, N={N})")
    # Last line, for `cargo bench --bench overhead` to read.
    print(json.dumps({
        "python_autolog_added_wall_us_per_call": round((traced[0] - plain[0]) * 1e6, 1),
        "python_autolog_added_cpu_us_per_call": round((traced[1] - plain[1]) * 1e6, 1),
    }))


if __name__ == "__main__":
    sys.exit(main())
