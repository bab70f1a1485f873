"""The external side of the Dagster Pipes session: run Meltano, stream its output
into the Dagster run's log, exit with Meltano's exit code.

Dagster's ``PipesSubprocessClient`` starts ``python -m algolia_dagster.pipes_meltano
<meltano> <args...>``; this process starts Meltano and relays each line it
prints (stdout and stderr, plugins' logs included) as a Pipes log message, so
it lands in the run's event log next to Dagster's own events. A non-zero exit
makes the client raise, which fails the step and the run.

Credentials reach Meltano only through the inherited environment. As a second
line of defence, values of environment variables whose names mark them as
secrets, and passwords inside URLs (e.g. MELTANO_DATABASE_URI), are masked in
every relayed line, so a plugin that echoes one cannot put it into Dagster's
event log.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Mapping
from types import FrameType
from urllib.parse import urlsplit

from dagster_pipes import open_dagster_pipes

SECRET_NAME = re.compile(r"(KEY|SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|_AUTH)", re.IGNORECASE)
MASK = "****"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words and digits
TAIL_LINES = 30


def secrets_in(environ: Mapping[str, str]) -> list[str]:
    """The strings that must never appear in a log line, longest first."""
    found: set[str] = set()
    for name, value in environ.items():
        if SECRET_NAME.search(name) and len(value) >= MIN_SECRET_LENGTH:
            found.add(value)
        if "://" in value:
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password and len(password) >= MIN_SECRET_LENGTH:
                found.add(password)
    return sorted(found, key=len, reverse=True)


def redact(line: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        line = line.replace(secret, MASK)
    return line


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m algolia_dagster.pipes_meltano <meltano> <args...>", file=sys.stderr)
        return 2
    secrets = secrets_in(os.environ)
    env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    with open_dagster_pipes() as pipes:
        try:
            proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
            )
        except OSError as exc:
            pipes.log.error(
                f"cannot start {argv[0]}: {exc} (set MELTANO_BIN to Meltano's executable)"
            )
            return 127

        def forward(signum: int, _frame: FrameType | None) -> None:
            # Dagster cancels a run with SIGINT: let Meltano stop its plugins cleanly.
            proc.send_signal(signum)

        signal.signal(signal.SIGINT, forward)
        signal.signal(signal.SIGTERM, forward)
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = redact(raw.rstrip("\n"), secrets)
            if line.strip():
                pipes.log.info(line)
                tail.append(line)
        code = proc.wait()
        pipes.report_custom_message({"exit_code": code})
        if code != 0:
            command = redact(" ".join(argv[1:]), secrets)
            pipes.log.error(
                f"`meltano {command}` exited with code {code}; its last lines:\n" + "\n".join(tail)
            )
        return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
