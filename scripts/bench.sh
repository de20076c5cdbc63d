#!/usr/bin/env bash
# Overhead benchmarks: `cargo bench` (Rust tracer) and MLflow Python autolog on the same call,
# for comparison. Installs openai next to MLflow in .venvs/mlflow. Prints two tables.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[ -x .venvs/mlflow/bin/python ] || python3 -m venv .venvs/mlflow
.venvs/mlflow/bin/pip install -q --disable-pip-version-check mlflow==3.17.2 openai
cargo bench --bench overhead
.venvs/mlflow/bin/python benches/python_autolog.py
