#!/usr/bin/env bash
# The whole round trip on one machine, with no credentials:
#   1. install Meltano and the plugins (scripts/setup-meltano.sh, idempotent)
#   2. start the Algolia emulator with 1,000 seeded profiles
#   3. import-users:     tap-algolia -> target-jsonl        (output/demo/import-1/)
#   4. export-audiences: data/audience_events.jsonl -> target-algolia (segments)
#   5. import-users again, incremental from the stored bookmark: only the
#      profiles the export changed come back, now carrying their segments
#   6. print a summary
# Needs Python 3.10+ with pip and the package index; nothing else.
# Everything it writes is under output/demo/ (plus .venv-meltano/ and .meltano/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
T0=$(date +%s)

OUT="$ROOT/output/demo"
USERS="${DEMO_USERS:-1000}"
SEED="${DEMO_SEED:-42}"
MELTANO="$ROOT/.venv-meltano/bin/meltano"
EMULATOR="$ROOT/.meltano/utilities/algolia-emulator/venv/bin/algolia-emulator"
export MELTANO_CLI_DISABLE_VERSION_CHECK=true
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false

say() { printf '\n==> %s\n' "$*"; }

EMU_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$EMU_PID" ]] && kill -0 "$EMU_PID" 2>/dev/null; then
    kill -TERM "$EMU_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$EMU_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
  fi
  if [[ $rc -ne 0 ]]; then
    printf '\ndemo FAILED (exit %s); logs are in %s\n' "$rc" "${OUT#"$ROOT"/}/logs" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "Installing Meltano and the plugins"
bash "$ROOT/scripts/setup-meltano.sh"
PY="$ROOT/.venv-meltano/bin/python"

rm -rf "$OUT"
mkdir -p "$OUT/logs"

say "Starting the Algolia emulator ($USERS profiles, seed $SEED)"
# Port 0: the emulator picks a free port and prints it.
"$EMULATOR" --host 127.0.0.1 --port "${DEMO_PORT:-0}" --users "$USERS" --seed "$SEED" \
  --state-file "$OUT/emulator-state.json" >"$OUT/logs/emulator.log" 2>&1 &
EMU_PID=$!
URL=""
for _ in $(seq 300); do
  if ! kill -0 "$EMU_PID" 2>/dev/null; then
    cat "$OUT/logs/emulator.log" >&2
    echo "the emulator exited before it was ready" >&2
    exit 1
  fi
  URL="$(grep -o 'listening on http://[^ ]*' "$OUT/logs/emulator.log" | head -n1 | cut -d' ' -f3 || true)"
  [[ -n "$URL" ]] && break
  sleep 0.1
done
[[ -n "$URL" ]] || { echo "the emulator did not report its address within 30 s" >&2; exit 1; }
echo "emulator at $URL (pid $EMU_PID)"

# The dev environment already holds the emulator's credentials; only the port differs.
export MELTANO_ENVIRONMENT=dev
export TAP_ALGOLIA_API_URL="$URL"
export TARGET_ALGOLIA_API_URL="$URL"
export TARGET_ALGOLIA_REJECTS_PATH="$OUT/rejects.jsonl"
# Bookmarks go to files for this demo (see docs/meltano.md for other backends).
export MELTANO_STATE_BACKEND_URI="file://$OUT/state"
STATE_ID="dev:tap-algolia-to-target-jsonl"

run() { # run LOGNAME meltano-args...
  local name=$1
  shift
  local t=$(date +%s)
  if ! "$MELTANO" "$@" >"$OUT/logs/$name.log" 2>&1; then
    tail -n 40 "$OUT/logs/$name.log" >&2
    echo "meltano $* failed; full log: $OUT/logs/$name.log" >&2
    return 1
  fi
  echo "meltano $* ... ok ($(($(date +%s) - t)) s)"
}

say "Import 1: all profiles (job import-users)"
TARGET_JSONL_DESTINATION_PATH="$OUT/import-1" run import-1 run --force import-users
# With the file backend each state ID is one JSON file (same as `meltano state get ID`).
cp "$OUT/state/$STATE_ID/state.json" "$OUT/state-after-import-1.json" 2>/dev/null || true

say "Export: audience events from data/audience_events.jsonl (job export-audiences)"
run export run --force export-audiences

say "Import 2: incremental, from the bookmark in the state store"
TARGET_JSONL_DESTINATION_PATH="$OUT/import-2" run import-2 run --force import-users
cp "$OUT/state/$STATE_ID/state.json" "$OUT/state-after-import-2.json" 2>/dev/null || true

say "Summary"
"$PY" - "$OUT" "$ROOT/data/audience_events.jsonl" "$URL" <<'PYEOF'
import json
import sys
from pathlib import Path

out, events_path, url = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]


def rows(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def bookmark(path):
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "replication_key_value" in node:
                found.append(node["replication_key_value"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(state)
    return found[0] if found else None


def managed(user, source="meltano"):
    return sorted(s["id"] for s in user.get("segments") or [] if s.get("source") == source)


first = rows(out / "import-1" / "users.jsonl")
second = rows(out / "import-2" / "users.jsonl")
events = rows(events_path)
rejects = rows(out / "rejects.jsonl")
with_segments = sum(1 for u in first if u.get("segments"))
print(f"emulator                 {url}")
print(f"import 1 (full)          {len(first)} profiles, {with_segments} with segments")
print(f"  bookmark               {bookmark(out / 'state-after-import-1.json')}")
targets = {e["algolia_user_id"] for e in events if e.get("algolia_user_id")}
print(f"export                   {len(events)} audience events for {len(targets)} user IDs,"
      f" {len(rejects)} rejected (see output/demo/rejects.jsonl)")
print(f"import 2 (incremental)   {len(second)} profiles")
print(f"  bookmark               {bookmark(out / 'state-after-import-2.json')}")
back = [u for u in second if managed(u)]
print(f"  with meltano segments  {len(back)}")
for user in back[:8]:
    uid = user["userID"]
    shown = uid if len(uid) <= 24 else uid[:21] + "..."
    others = sorted(f"{s['id']}/{s['source']}" for s in user.get("segments") or []
                    if s.get("source") != "meltano")
    print(f"    {shown:<24} meltano: {', '.join(managed(user))}"
          f"{'   kept: ' + ', '.join(others) if others else ''}")
if len(back) > 8:
    print(f"    ... and {len(back) - 8} more (output/demo/import-2/users.jsonl)")
ok = bool(first) and bool(back) and len(second) < len(first)
print("round trip               " + ("OK" if ok else "UNEXPECTED, see output/demo/logs"))
sys.exit(0 if ok else 1)
PYEOF

echo
echo "state IDs in the store (meltano state list; inspect with meltano state get ID):"
"$MELTANO" state list 2>/dev/null | sed 's/^/  /' || true
echo "done in $(($(date +%s) - T0)) s; outputs in output/demo/"
