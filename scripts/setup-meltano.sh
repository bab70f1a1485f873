#!/usr/bin/env bash
# Install Meltano into its own virtualenv (.venv-meltano) and the project's
# plugins into .meltano/ (meltano install). Safe to run again: both steps are
# skipped when nothing they depend on has changed.
#
# Needs: Python 3.10+ with venv and pip, and the Python package index.
# Env:   PYTHON (interpreter for .venv-meltano, default python3)
#        SETUP_MELTANO_FORCE=1 to reinstall the plugins regardless of the stamp.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MELTANO_SPEC="meltano>=4.4,<4.5"
VENV="$ROOT/.venv-meltano"
PYTHON="${PYTHON:-python3}"
export MELTANO_CLI_DISABLE_VERSION_CHECK=true
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false

log() { printf '[setup-meltano] %s\n' "$*" >&2; }

mkdir -p "$ROOT/.meltano"
# Two callers at once (demo and tests) must not install into the same venvs.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$ROOT/.meltano/.setup.lock"
  flock 9
fi

if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
  log "need Python 3.10+ (PYTHON=$PYTHON)"
  exit 1
fi

# 1. Meltano itself, kept apart from the SDK's virtualenv.
if [[ ! -x "$VENV/bin/meltano" || "$(cat "$VENV/.meltano-spec" 2>/dev/null)" != "$MELTANO_SPEC" ]]; then
  log "installing $MELTANO_SPEC into .venv-meltano"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  # (This machine's pip config names local indexes that may be absent: hide that noise.)
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$MELTANO_SPEC" 2>&1 |
    { grep -v 'is ignored: it is neither a file nor a directory' || true; }
  printf '%s' "$MELTANO_SPEC" >"$VENV/.meltano-spec"
fi

# 2. The plugins. The stamp covers everything that decides what gets
#    installed: meltano.yml, the local distributions' metadata, Meltano's version.
stamp_of() {
  {
    "$VENV/bin/meltano" --version
    cat meltano.yml
    cat algolia-api/pyproject.toml tap-algolia/pyproject.toml \
      target-algolia/pyproject.toml algolia-emulator/pyproject.toml
  } | sha256sum | cut -d' ' -f1
}
STAMP_FILE="$ROOT/.meltano/.install-stamp"
want="$(stamp_of)"
installed=1
for exe in extractors/tap-algolia/venv/bin/tap-algolia \
  loaders/target-algolia/venv/bin/target-algolia \
  utilities/algolia-emulator/venv/bin/algolia-emulator; do
  [[ -x "$ROOT/.meltano/$exe" ]] || installed=0
done
if [[ "${SETUP_MELTANO_FORCE:-0}" != 1 && $installed == 1 && "$(cat "$STAMP_FILE" 2>/dev/null)" == "$want" ]]; then
  log "plugins up to date (meltano install skipped)"
  exit 0
fi

log "meltano install"
rm -f "$STAMP_FILE"
"$VENV/bin/meltano" --log-level=warning install
printf '%s' "$want" >"$STAMP_FILE"
log "done"
