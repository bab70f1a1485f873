"""The external side of the Dagster Pipes session: run Meltano, stream its output
into the Dagster run's log, exit with Meltano's exit code.

Dagster's ``PipesSubprocessClient`` starts ``python -m algolia_dagster.pipes_meltano
<meltano> <args...>``; this process starts Meltano and relays each line it
prints (stdout and stderr, plugins' logs included) as a Pipes log message, so
it lands in the run's event log next to Dagster's own events. A non-zero exit
makes the client raise, which fails the step and the run.

Credentials reach Meltano through the inherited environment or the project's
``.env`` file (Meltano reads it itself, so its values are not in this
process's environment). As a second line of defence, values of variables
whose names mark them as secrets, from both places, and passwords inside URLs
(e.g. MELTANO_DATABASE_URI), are masked in every relayed line, so a plugin
that echoes one cannot put it into Dagster's event log. A secret of 4 or more
characters is masked wherever it appears; a shorter one wherever it stands as
a whole word (not inside a longer run of letters and digits), so that a
2-character secret does not blank every ordinary word containing it (the
same rule as algolia_api.redaction).
"""

from __future__ import annotations

import functools
import os
import re
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from dagster_pipes import open_dagster_pipes

SECRET_NAME = re.compile(r"(KEY|SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|_AUTH)", re.IGNORECASE)
MASK = "****"
#: Secrets shorter than this are masked only where they stand as a whole word.
WHOLE_WORD_BELOW = 4
TAIL_LINES = 30
_DOTENV_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*")


def secrets_in(environ: Mapping[str, str]) -> list[str]:
    """The strings that must never appear in a log line, longest first."""
    found: set[str] = set()
    for name, value in environ.items():
        if SECRET_NAME.search(name) and value.strip():
            found.update({value, value.strip()})
        if "://" in value:
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                found.add(password)
    return sorted(found, key=len, reverse=True)


def dotenv_values(path: Path) -> dict[str, str]:
    """The variables of a ``.env`` file as Meltano reads it (python-dotenv syntax).

    ``NAME=value``, optionally after ``export``, a value optionally in single
    or double quotes, ``#`` comments; a file that cannot be read gives nothing.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _DOTENV_LINE.fullmatch(line)
        if not match:
            continue
        name, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[name] = value
    return values


def project_secrets(environ: Mapping[str, str], project_root: Path) -> list[str]:
    """Secrets in the environment and in the Meltano project's ``.env`` file."""
    return secrets_in({**dotenv_values(project_root / ".env"), **environ})


@functools.lru_cache(maxsize=8)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    parts = []
    for secret in sorted(set(secrets), key=len, reverse=True):
        escaped = re.escape(secret)
        if len(secret) < WHOLE_WORD_BELOW:
            escaped = rf"(?<![0-9A-Za-z]){escaped}(?![0-9A-Za-z])"
        parts.append(escaped)
    return re.compile("|".join(parts)) if parts else None


def redact(line: str, secrets: Iterable[str]) -> str:
    pattern = _pattern(tuple(secrets))
    return line if pattern is None else pattern.sub(MASK, line)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m algolia_dagster.pipes_meltano <meltano> <args...>", file=sys.stderr)
        return 2
    root = Path(os.environ.get("MELTANO_PROJECT_ROOT") or Path.cwd())
    secrets = project_secrets(os.environ, root)
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
