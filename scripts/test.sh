#!/usr/bin/env bash
# Install what the tests need into .venv and run every check CI runs (the README's test command).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/unit -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${MODELYARD_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
VENV="$(cd "$VENV" && pwd)"
ROOT="$PWD"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "is ignored" || true
# strict editable mode: a link tree that import-linter (and mypy) can follow across registry/, client/…
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev]" -c scripts/test-constraints.txt --config-settings editable_mode=strict 2>&1 | grep -v "is ignored" || true
"$VENV/bin/python" -c "import modelyard.registry, modelyard.client, grpc, sqlalchemy, psycopg, pymysql" # fail early if the install did
# Azurite (Azure Blob emulator) for the object-store tests, pinned by tests/azurite/package-lock.json;
# reinstalled when node_modules is missing or older than the lock file.
AZURITE_DIR=tests/azurite
if [ ! -f "$AZURITE_DIR/node_modules/.package-lock.json" ] \
  || [ "$AZURITE_DIR/package-lock.json" -nt "$AZURITE_DIR/node_modules/.package-lock.json" ]; then
  if ! command -v npm >/dev/null && [ -z "${CI:-}" ]; then
    echo "warning: npm not found: Azurite tests will be skipped (they fail in CI)" >&2
  elif ! npm_log="$(cd "$AZURITE_DIR" && npm ci --no-audit --no-fund --loglevel=error 2>&1)"; then
    echo "$npm_log" >&2
    echo "error: npm ci in $AZURITE_DIR failed" >&2
    exit 1
  fi
fi

# Debian's Chromium for the browser tests (tests/integration/ui; Playwright drives it as
# /usr/bin/chromium: never `playwright install`, which downloads its own build).
CHROMIUM=/usr/bin/chromium
if [ ! -x "$CHROMIUM" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing chromium (apt-get)"
  # stale or empty package lists (fresh containers): update once and retry
  if ! apt_log="$( (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }) 2>&1)"; then
    echo "$apt_log" | tail -20 >&2
    echo "warning: apt-get install chromium failed" >&2
  fi
fi
if [ ! -x "$CHROMIUM" ]; then
  if [ -n "${CI:-}" ]; then
    echo "error: $CHROMIUM is missing and could not be installed (CI is set: the browser tests must run)" >&2
    exit 1
  fi
  echo "warning: $CHROMIUM not found: browser tests will be skipped (they fail in CI)" >&2
fi

echo "== generated code is fresh"
"$VENV/bin/python" proto/generate.py --check
echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== import contracts"
# from outside the checkout, so it reads the installed tree (which holds registry/, client/…)
(cd "${TMPDIR:-/tmp}" && "$VENV/bin/lint-imports" --config "$ROOT/pyproject.toml")
echo "== pytest"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
