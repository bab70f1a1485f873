#!/usr/bin/env bash
# The README's test command: set up everything on a fresh machine, then run
# lint, type checks and every test (unit, emulator contract, scenarios,
# end-to-end through meltano run against a real PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"

ensure_postgres() {
    # The warehouse tests need PostgreSQL server binaries (initdb, pg_ctl).
    if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; then
        return
    fi
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        echo "==> installing PostgreSQL from Debian packages"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
        echo "!! PostgreSQL server binaries not found and cannot install them here:" >&2
        echo "!! the warehouse end-to-end tests will be skipped (apt-get install postgresql)." >&2
    fi
}

echo "==> setting up .venv"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# algolia-dagster brings Dagster for its tests; no plugin depends on either.
# algolia-testkit holds the test suites' shared helpers (never released).
.venv/bin/python -m pip install -q \
    -e ./algolia-api -e ./algolia-emulator -e ./tap-algolia -e ./target-algolia \
    -e ./algolia-dagster -e ./algolia-testkit -r requirements-dev.txt

ensure_postgres

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy"
.venv/bin/mypy algolia-api/algolia_api algolia-emulator/algolia_emulator \
    tap-algolia/tap_algolia target-algolia/target_algolia build-support \
    algolia-dagster/algolia_dagster algolia-testkit/algolia_testkit
echo "==> pytest"
.venv/bin/pytest "$@"
