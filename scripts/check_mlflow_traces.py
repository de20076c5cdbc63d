#!/usr/bin/env python3
"""Small MLflow REST helper for scripts/test.sh (stdlib only).

  check_mlflow_traces.py --uri URI --warm-up               send one span and wait until it is stored
  check_mlflow_traces.py --uri URI --create NAME           get or create an experiment, print its id
  check_mlflow_traces.py NAME --uri URI [--min N] [--filter F]
                                                           exit 1 unless experiment NAME has >= N
                                                           traces in state OK (matching the MLflow
                                                           search filter F; waits up to 30 s;
                                                           --experiment NAME is the same)
  check_mlflow_traces.py NAME --uri URI --max N           exit 1 if experiment NAME holds more
                                                           than N traces (any state), now
"""
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def call(uri, method, path, body=None, headers=None, timeout=120):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(uri + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw and raw[:1] in b"{[" else raw)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw


def experiment_id(uri, name, create):
    q = urllib.parse.urlencode({"experiment_name": name})
    status, body = call(uri, "GET", f"/api/2.0/mlflow/experiments/get-by-name?{q}")
    if status == 200:
        return body["experiment"]["experiment_id"]
    if not create:
        return None
    status, body = call(uri, "POST", "/api/2.0/mlflow/experiments/create", {"name": name})
    if status != 200:
        sys.exit(f"cannot create experiment {name!r}: {status} {body}")
    return body["experiment_id"]


def warm_up(uri):
    trace_id = os.urandom(16).hex()
    now = time.time_ns()
    span = {
        "traceId": trace_id, "spanId": os.urandom(8).hex(), "name": "warm-up", "kind": 1,
        "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000),
        "attributes": [{"key": "mlflow.spanType", "value": {"stringValue": "UNKNOWN"}}],
        "status": {"code": 1},
    }
    body = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {"name": "warm-up"}, "spans": [span]}]}]}
    start = time.time()
    status, resp = call(uri, "POST", "/v1/traces", body, {"x-mlflow-experiment-id": "0"}, timeout=180)
    if status != 200:
        sys.exit(f"warm-up span refused: {status} {resp}")
    print(f"first span stored in {time.time() - start:.1f} s")


def check_max(uri, name, maximum):
    exp = experiment_id(uri, name, create=False)
    if exp is None:
        sys.exit(f"error: experiment {name!r} does not exist in {uri}")
    body = {
        "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}}],
        "max_results": 100,
    }
    status, resp = call(uri, "POST", "/api/3.0/mlflow/traces/search", body)
    if status != 200:
        sys.exit(f"error: searching experiment {name!r} answered {status} {resp!r}")
    traces = resp.get("traces", [])
    if len(traces) > maximum:
        sys.exit(f"error: experiment {name!r} holds {len(traces)} trace(s), expected <= {maximum}")
    print(f"experiment {name!r}: {len(traces)} trace(s), as expected (<= {maximum})")


def check(uri, name, minimum, search_filter=None):
    exp = experiment_id(uri, name, create=False)
    if exp is None:
        sys.exit(f"error: experiment {name!r} does not exist in {uri}")
    body = {
        "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}}],
        "max_results": 100,
    }
    if search_filter:
        body["filter"] = search_filter
    deadline = time.time() + 30
    while True:
        status, resp = call(uri, "POST", "/api/3.0/mlflow/traces/search", body)
        traces = resp.get("traces", []) if status == 200 else []
        ok = [t for t in traces if t.get("state") == "OK"]
        if len(ok) >= minimum or time.time() > deadline:
            break
        time.sleep(0.5)
    if len(ok) < minimum:
        states = [t.get("state") for t in traces]
        detail = "" if status == 200 else f"; last search answered {status} {resp!r}"
        sys.exit(f"error: experiment {name!r} has {len(ok)} OK trace(s) (states {states}), "
                 f"expected >= {minimum}{detail}")
    print(f"experiment {name!r}: {len(ok)} OK trace(s)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", metavar="EXPERIMENT_NAME", help="experiment to check")
    p.add_argument("--uri", required=True)
    p.add_argument("--warm-up", action="store_true")
    p.add_argument("--create")
    p.add_argument("--experiment")
    p.add_argument("--min", type=int, default=1)
    p.add_argument("--max", type=int, help="at most this many traces, any state (no waiting)")
    p.add_argument("--filter", help="MLflow trace search filter")
    a = p.parse_args()
    uri = a.uri.rstrip("/")
    if a.warm_up:
        warm_up(uri)
    elif a.create:
        print(experiment_id(uri, a.create, create=True))
    elif (a.name or a.experiment) and a.max is not None:
        check_max(uri, a.name or a.experiment, a.max)
    elif a.name or a.experiment:
        check(uri, a.name or a.experiment, a.min, a.filter)
    else:
        p.error("nothing to do")


if __name__ == "__main__":
    main()
