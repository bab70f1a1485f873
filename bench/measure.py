"""Run one contender as a subprocess: wall time, peak RSS, and the emulator's CPU meanwhile."""

from __future__ import annotations

import os
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

GNU_TIME = "/usr/bin/time"


@dataclass
class Run:
    name: str
    wall_s: float
    max_rss_mb: float
    emulator_cpu_s: float
    returncode: int
    cpu_s: float = float("nan")  # the child's user + system CPU seconds
    stderr_tail: str = ""
    extra: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _has_gnu_time() -> bool:
    if not Path(GNU_TIME).exists():
        return False
    probe = subprocess.run([GNU_TIME, "-v", "true"], capture_output=True, text=True, check=False)
    return "Maximum resident set size" in probe.stderr


HAS_GNU_TIME = _has_gnu_time()


def run_measured(
    name: str,
    argv: Sequence[str],
    *,
    stdin: IO[bytes] | int | None = subprocess.DEVNULL,
    stdout: IO[bytes] | int | None = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    emulator_cpu: Any = None,
    timeout: float = 3600.0,
) -> Run:
    """Run ``argv`` to completion; peak RSS is the child's (``/usr/bin/time -v``)."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        time_file = Path(tmp) / "time.txt"
        err_file = Path(tmp) / "stderr.txt"
        command = list(argv)
        if HAS_GNU_TIME:
            command = [GNU_TIME, "-v", "-o", str(time_file), *command]
        before_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        cpu0 = emulator_cpu() if emulator_cpu else float("nan")
        with err_file.open("wb") as err:
            start = time.perf_counter()
            proc = subprocess.run(
                command,
                stdin=stdin,
                stdout=stdout,
                stderr=err,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                timeout=timeout,
                check=False,
            )
            wall = time.perf_counter() - start
        cpu1 = emulator_cpu() if emulator_cpu else float("nan")
        rss_kb = 0.0
        cpu = float("nan")
        if HAS_GNU_TIME and time_file.exists():
            text = time_file.read_text()
            match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
            rss_kb = float(match.group(1)) if match else 0.0
            user = re.search(r"User time \(seconds\): ([\d.]+)", text)
            system = re.search(r"System time \(seconds\): ([\d.]+)", text)
            if user and system:
                cpu = float(user.group(1)) + float(system.group(1))
        else:
            # Fallback: the high-water mark over all children so far; only exact
            # when this child is the largest yet, so callers get a lower bound.
            rss_kb = float(
                max(before_children, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
            )
        tail = err_file.read_text(errors="replace")[-4000:]
    return Run(
        name=name,
        wall_s=wall,
        max_rss_mb=rss_kb / 1024.0,
        emulator_cpu_s=cpu1 - cpu0,
        returncode=proc.returncode,
        cpu_s=cpu,
        stderr_tail=tail,
    )


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def which(name: str) -> str | None:
    return shutil.which(name)
