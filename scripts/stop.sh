#!/usr/bin/env bash
# Stop exactly what scripts/serve.sh started (recorded process ids), then PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m flows.stack stop "$@"
