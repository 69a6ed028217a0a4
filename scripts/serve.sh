#!/usr/bin/env bash
# make serve: PostgreSQL, Prefect server, process work pool + worker, deployment, portal (localhost).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m flows.stack start "$@"
