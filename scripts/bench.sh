#!/usr/bin/env bash
# Benchmarks, printed as tables (nothing is asserted):
# - `cargo bench --bench overhead`: what tracing adds to a call through the production
#   pipeline, and the same call under MLflow Python autolog in the same run (last line: JSON);
# - `cargo bench --bench delivery`: delivery under load (to an in-process OTLP receiver and to
#   a real MLflow 3.17.2 this script starts) and under a 60 s outage.
# Installs MLflow (+ openai) into .venvs/mlflow. Extra env: see benches/delivery.rs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# venv, spawn, spawn_mlflow, wait_mlflow, ...; servers stopped on exit.
# shellcheck source=servers.sh
. "$ROOT/scripts/servers.sh"

venv mlflow mlflow==3.17.2 openai
cargo bench --bench overhead
spawn_mlflow
wait_mlflow
MLFLOW_TRACKING_URI="$MLFLOW_URI" cargo bench --bench delivery
