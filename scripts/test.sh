#!/usr/bin/env bash
# The README's test command: set up everything on a fresh machine, then run
# lint, type checks and every test (unit, emulator contract, scenarios,
# end-to-end through meltano run against a real PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"

ensure_postgres() {
    # The warehouse tests need PostgreSQL server binaries (initdb, pg_ctl), and
    # the change-data-capture test (LOG_BASED) the wal2json output plugin built
    # for the same major version (Debian: postgresql-<major>-wal2json).
    if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && ! command -v initdb >/dev/null; then
        if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
            echo "==> installing PostgreSQL from Debian packages"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        else
            echo "!! PostgreSQL server binaries not found and cannot install them here:" >&2
            echo "!! the warehouse end-to-end tests will be skipped (apt-get install postgresql)." >&2
            return
        fi
    fi
    local major
    for major in $(ls /usr/lib/postgresql 2>/dev/null); do
        [ -e "/usr/lib/postgresql/$major/lib/wal2json.so" ] && continue
        if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
            echo "==> installing postgresql-$major-wal2json from Debian packages"
            # (A machine that already had PostgreSQL may have no package lists yet.)
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$major-wal2json" >/dev/null 2>&1 ||
                { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$major-wal2json" >/dev/null; } ||
                echo "!! could not install postgresql-$major-wal2json: the change-data-capture test will be skipped." >&2
        else
            echo "!! wal2json not found for PostgreSQL $major: the change-data-capture test will be" >&2
            echo "!! skipped (apt-get install postgresql-$major-wal2json)." >&2
        fi
    done
}

echo "==> setting up .venv"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# The test tools first: they include hatchling (and editables), so the local
# distributions below build in this venv instead of six isolated build
# environments that each look hatchling up in the package index again (about
# 80 s of waiting on every run, even when nothing changed).
.venv/bin/python -m pip install -q -r requirements-dev.txt
# algolia-dagster brings Dagster for its tests; no plugin depends on either.
# algolia-testkit holds the test suites' shared helpers (never released).
.venv/bin/python -m pip install -q --no-build-isolation \
    -e ./algolia-api -e ./algolia-emulator -e ./tap-algolia -e ./target-algolia \
    -e ./algolia-dagster -e ./algolia-testkit

ensure_postgres

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy"
.venv/bin/mypy algolia-api/algolia_api algolia-emulator/algolia_emulator \
    tap-algolia/tap_algolia target-algolia/target_algolia build-support \
    algolia-dagster/algolia_dagster algolia-testkit/algolia_testkit
echo "==> pytest"
# Parallel by default (pytest-xdist). Most of the suite waits on processes
# starting, pip, Meltano and the emulator rather than computing, so it runs
# more workers than this 2-core machine has cores. Each worker has its own
# emulator ports, PostgreSQL cluster, temporary folders and .meltano folder;
# setup shared by all of them is built once under a lock
# (algolia_testkit.run_once). --dist loadgroup keeps the tests of one
# xdist_group on one worker. Arguments given to this script come after and
# win (e.g. -n 0 for a serial run).
.venv/bin/pytest -n "${PYTEST_WORKERS:-4}" --dist loadgroup "$@"
