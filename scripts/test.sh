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

# Meltano and the project's plugins (scripts/setup-meltano.sh: pip installs
# that mostly wait on the package index) install in the background while
# .venv is set up, the checks run and the first tests start. The end-to-end
# tests' fixture runs the same script, which waits on its lock and then finds
# everything installed (or fails with the script's output). Without flock
# there is no lock, so the fixture alone installs.
meltano_setup_pid=""
if command -v flock >/dev/null 2>&1; then
    meltano_setup_log="$(mktemp -t setup-meltano.XXXXXX.log)"
    echo "==> installing Meltano and its plugins in the background (log: $meltano_setup_log)"
    (
        # As the fixture runs it: no MELTANO_* setting of the caller's shell.
        for name in $(compgen -e); do
            case "$name" in MELTANO_*) unset "$name" ;; esac
        done
        PYTHON="$PYTHON" exec bash scripts/setup-meltano.sh
    ) >"$meltano_setup_log" 2>&1 &
    meltano_setup_pid=$!
fi

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
    algolia-dagster/algolia_dagster algolia-testkit/algolia_testkit bench
echo "==> import contract (target_algolia)"
.venv/bin/lint-imports
echo "==> pytest"
# Parallel by default (pytest-xdist). Most of the suite waits on processes
# starting, pip, Meltano and the emulator rather than computing, so it runs
# more workers than this 2-core machine has cores. Each worker has its own
# emulator ports, PostgreSQL cluster, temporary folders and .meltano folder;
# setup shared by all of them is built once under a lock
# (algolia_testkit.run_once). --dist loadgroup keeps the tests of one
# xdist_group on one worker. Arguments given to this script come after and
# win (e.g. -n 0 for a serial run).
status=0
.venv/bin/pytest -n "${PYTEST_WORKERS:-4}" --dist loadgroup "$@" || status=$?
# (Still running only when no test needed Meltano; leave nothing behind.)
[ -z "$meltano_setup_pid" ] || wait "$meltano_setup_pid" || true
exit "$status"
