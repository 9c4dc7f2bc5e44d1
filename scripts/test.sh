#!/usr/bin/env bash
# Set up everything the tests need and run them: scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
echo "== running the tests"
exec .venv/bin/python -m pytest "$@"
