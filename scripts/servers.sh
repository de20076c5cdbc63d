# Shared by scripts/test.sh and scripts/bench.sh (sourced, not run): start and stop local
# servers, install venvs. Expects ROOT to be set; sets VENVS, TMP and PIDS, and an EXIT trap
# that stops every server started with `spawn` and removes $TMP.
VENVS="$ROOT/.venvs"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlflow-tracing-test.XXXXXX")
PIDS=()

have() { command -v "$1" >/dev/null 2>&1; }

# spawn LOG CMD...: start CMD in the background in its own session / process group (so the
# whole tree, e.g. MLflow's uvicorn + job runner, can be stopped at once). `setsid` does not
# fork here (a background job of a non-interactive shell is not a group leader), so $! is the
# server's own PID and its process group id.
spawn() {
    local log=$1
    shift
    if have setsid; then
        setsid "$@" >"$log" 2>&1 &
    else
        "$@" >"$log" 2>&1 &
    fi
    PIDS+=("$!")
}

stop_all() {
    local pid
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] || continue
        kill -TERM -- "-$pid" 2>/dev/null || {
            have pkill && pkill -TERM -P "$pid" 2>/dev/null
            kill -TERM "$pid" 2>/dev/null
        } || true
    done
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] || continue
        for _ in $(seq 1 50); do # up to 5 s for a graceful stop, then SIGKILL
            kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    done
    PIDS=()
}

cleanup() {
    local code=$?
    trap - EXIT INT TERM
    stop_all
    rm -rf "$TMP"
    exit "$code"
}
trap cleanup EXIT
# An interrupted or terminated run must not end with the last command's (maybe 0) status.
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n==> %s\n' "$*"; }

venv() { # venv NAME PACKAGE...: create .venvs/NAME if needed, always pip install (no-op when present)
    local dir="$VENVS/$1" t=$SECONDS
    shift
    [ -x "$dir/bin/pip" ] || python3 -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check "$@"
    echo "  .venvs/$(basename "$dir"): $* ($((SECONDS - t)) s)"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL SECONDS LOG PID [BODY]: until URL answers 2xx (with BODY, if given). Fails early
# if PID died; on failure prints the log tail.
wait_http() {
    local url=$1 deadline=$((SECONDS + $2)) log=$3 pid=$4 want=${5:-} got
    while :; do
        if got=$(curl -sf --max-time 5 "$url" 2>/dev/null) && { [ -z "$want" ] || [ "$got" = "$want" ]; }; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "error: the server for $url exited; log tail:" >&2
            tail -n 40 "$log" >&2 || true
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "error: $url did not answer ${want:-2xx} within $2 s; log tail:" >&2
            tail -n 40 "$log" >&2 || true
            return 1
        fi
        sleep 0.5
    done
}


# spawn_mlflow: starts MLflow 3.17.2 from .venvs/mlflow on a free loopback port with a
# temporary SQLite store; sets MLFLOW_URI and MLFLOW_PID. wait_mlflow: waits until it is
# healthy and has stored a first span.
spawn_mlflow() {
    local port
    port=$(free_port)
    MLFLOW_URI="http://127.0.0.1:$port"
    MLFLOW_STARTED=$SECONDS
    mkdir -p "$TMP/artifacts"
    # The venv's own python (not a console-script or pyenv shim), so $! is the server's PID.
    MLFLOW_DISABLE_TELEMETRY=true spawn "$TMP/mlflow.log" "$VENVS/mlflow/bin/python" -m mlflow server \
        --host 127.0.0.1 --port "$port" --workers 1 \
        --backend-store-uri "sqlite:///$TMP/mlflow.db" \
        --default-artifact-root "$TMP/artifacts"
    MLFLOW_PID=${PIDS[${#PIDS[@]} - 1]}
}

wait_mlflow() {
    wait_http "$MLFLOW_URI/health" 120 "$TMP/mlflow.log" "$MLFLOW_PID" OK
    echo "MLflow (pid $MLFLOW_PID) healthy at $MLFLOW_URI after $((SECONDS - MLFLOW_STARTED)) s"
    # A new server is slow to store its first spans while its job runner starts: send one now.
    python3 "$ROOT/scripts/check_mlflow_traces.py" --uri "$MLFLOW_URI" --warm-up
}
