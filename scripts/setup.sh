#!/usr/bin/env bash
# Set up zoufang in ./.venv (Python >= 3.11). Usage: scripts/setup.sh [--test]
#   --test  also installs the test tools and the system packages the tests need
#           (Debian's chromium for the browser tests, postgresql for the database
#           tests), with apt-get when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "zoufang needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1)); set PYTHON=python3.11" >&2
  exit 1
fi

extras=""
if [ "${1:-}" = "--test" ]; then
  extras="[test]"
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      echo "== installing Debian's chromium for the browser tests"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      echo "note: chromium is not installed and this is not root: the browser tests will be skipped" >&2
    fi
  fi
  if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      echo "== installing Debian's postgresql for the database tests (a throwaway server per run)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
      echo "note: postgresql is not installed and this is not root: the PostgreSQL tests will be skipped" >&2
    fi
  fi
  if [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      echo "== installing a Chinese TrueType font for the PDF walk sheet (embedded in the PDF)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null
    else
      echo "note: fonts-wqy-microhei is not installed: PDF walk sheets use the viewer's STSong-Light font" >&2
    fi
  fi
  if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      echo "== installing PostGIS for the spatial database tests"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-postgis >/dev/null
    else
      echo "note: PostGIS is not installed and this is not root: the PostGIS tests will be skipped" >&2
    fi
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PYTHON" -m venv .venv
fi
echo "== installing zoufang${extras} into .venv"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".${extras}"
