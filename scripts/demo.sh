#!/usr/bin/env bash
# Install workbench into .venv (a normal, non-editable install) and start the demo.
# Usage: ./scripts/demo.sh [--host H] [--port P]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet .
exec .venv/bin/workbench demo "$@"
