#!/usr/bin/env bash
# Set up zoufang, build and plan the demo campaign, and serve its map on 127.0.0.1.
# Usage: scripts/demo.sh [zoufang demo options, e.g. --port 8000 --out demo-out]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/zoufang demo "$@"
