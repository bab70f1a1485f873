#!/usr/bin/env bash
# The one benchmark command. Creates the bench-only virtualenvs if missing
# (bench/.venvs/msdk: tap-rest-api-msdk; bench/.venvs/tools: matplotlib, py-spy),
# then runs the suite with the project's shared .venv:
#
#   bash bench/run.sh                       # full suite -> docs/benchmarks.{md,png,json}
#   bash bench/run.sh --smoke               # tiny sizes, 1 repetition, temp output
#   bash bench/run.sh --users 50000,200000 --reps 3
#   bash bench/run.sh --only mirror         # one part; the report keeps the others
#
# Needs: .venv with the four local packages (scripts/test.sh makes it).
# Env: PYTHON (interpreter for the bench venvs, default python3).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"

make_venv() { # name requirements-file
  local venv="bench/.venvs/$1" req="$2"
  local stamp="$venv/.requirements"
  if [[ -x "$venv/bin/python" && "$(cat "$stamp" 2>/dev/null)" == "$(cat "$req")" ]]; then
    return
  fi
  echo "[bench] creating $venv from $req" >&2
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" 2>&1 |
    { grep -v 'is ignored: it is neither a file nor a directory' || true; }
  cp "$req" "$stamp"
}

smoke=0
partial=0
for arg in "$@"; do
  [[ "$arg" == "--smoke" ]] && smoke=1
  [[ "$arg" == "--only" ]] && partial=1
done
# A partial run (--only) needs the bench venvs only for the parts that use them.
if [[ $smoke == 0 && ($partial == 0 || " $* " == *" tap "* || " $* " == *" profile "*) ]]; then
  make_venv msdk bench/requirements-msdk.txt
  make_venv tools bench/requirements.txt
fi
if [[ ! -x .venv/bin/python ]]; then
  echo "[bench] .venv missing: run scripts/test.sh (or create it) first" >&2
  exit 2
fi
exec .venv/bin/python -m bench "$@"
