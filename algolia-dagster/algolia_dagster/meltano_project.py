"""What meltano.yml declares, read once: jobs, their tasks, schedules, and the
state ID each extractor-loader pair will use.

The rule: everything the Dagster code location exposes comes from meltano.yml
(and the files its ``include_paths`` name), so a job or schedule added there
appears in Dagster without a code change. Definitions load from the file alone,
without starting Meltano or touching its system database, so a webserver or
code server can load them even where the database is out of reach.

Meltano's own conventions this mirrors (and the tests check against real
Meltano): interval presets such as ``@hourly`` (``@once``/``@manual``/``@none``
mean "no schedule"), and the state ID ``<environment>:<extractor>-to-<loader>``
(``:<state_id_suffix>`` appended when the environment sets one).

Each task also gets the name of the concurrency pool that keeps it from
overlapping with what must not run at the same time:

- a task that writes to Algolia (its loader is a ``target_algolia`` plugin or an
  ``inherit_from`` instance of one) shares one pool with every other writer to
  the same application, ``<environment>:algolia-writes:<plugin>``, where
  ``<plugin>`` is the nearest plugin up the ``inherit_from`` chain that sets
  ``app_id``. Segment writes are a read then a whole-list replace with no
  conditional write, so two writers to one application at once could undo
  each other's changes to a profile (and would split its 500 calls a minute);
- any other task is in the pool named after its state ID, with the extractor
  replaced by the plugin it ``inherit_from`` when it sets no config of its
  own (in the plugin or the environment). Such an instance differs only in
  its catalog (``metadata``, ``select``), so it reads the same source into the
  same tables: the daily FULL_TABLE ``tap-algolia--full`` and the hourly
  incremental ``tap-algolia`` into one warehouse table take turns, since an
  incremental row written between the full sync's records and its
  ACTIVATE_VERSION would be marked deleted (tap-algolia/README.md, "Deletions").

Either way two runs of one state ID never overlap: one state ID has one loader,
so one application.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# meltano/core/schedule.py: CRON_INTERVALS
INTERVAL_PRESETS: Mapping[str, str | None] = {
    "@once": None,
    "@manual": None,
    "@none": None,
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


class MeltanoProjectError(ValueError):
    """meltano.yml declares something the Dagster code location cannot expose."""


@dataclass(frozen=True)
class Task:
    """One entry of a job's ``tasks``: what ``meltano run`` gets as arguments."""

    blocks: tuple[str, ...]
    state_ids: tuple[str, ...]
    pool: str | None = None

    @property
    def command(self) -> str:
        return " ".join(self.blocks)


@dataclass(frozen=True)
class Job:
    name: str
    tasks: tuple[Task, ...]


@dataclass(frozen=True)
class Schedule:
    name: str
    job: str
    interval: str
    cron: str | None  # None: run on demand only (@once, @manual, @none)


@dataclass(frozen=True)
class MeltanoProject:
    root: Path
    environment: str
    jobs: tuple[Job, ...]
    schedules: tuple[Schedule, ...]


def load_project(root: Path, environment: str | None = None) -> MeltanoProject:
    """Read ``root/meltano.yml``; ``environment`` defaults to $MELTANO_ENVIRONMENT,
    then to the file's ``default_environment``."""
    main_file = root / "meltano.yml"
    if not main_file.is_file():
        raise MeltanoProjectError(
            f"no meltano.yml in {root}: set MELTANO_PROJECT_ROOT to the Meltano project directory"
        )
    documents = [_read(main_file)]
    for pattern in documents[0].get("include_paths") or []:
        for path in sorted(glob.glob(str(root / pattern), recursive=True)):
            documents.append(_read(Path(path)))

    env_name = (
        environment
        or os.environ.get("MELTANO_ENVIRONMENT")
        or documents[0].get("default_environment")
    )
    if not env_name:
        raise MeltanoProjectError(
            "no Meltano environment: set MELTANO_ENVIRONMENT or default_environment in meltano.yml "
            "(state IDs, and so the per-state-ID concurrency pools, depend on it)"
        )
    environments = {e.get("name"): e for d in documents for e in d.get("environments") or []}
    if env_name not in environments:
        raise MeltanoProjectError(
            f"Meltano environment {env_name!r} is not declared in meltano.yml "
            f"(declared: {', '.join(sorted(map(str, environments))) or 'none'})"
        )
    suffix = environments[env_name].get("state_id_suffix")

    plugins = [
        (kind, p)
        for d in documents
        for kind, entries in (d.get("plugins") or {}).items()
        for p in entries or []
    ]
    extractors = {p["name"]: p for kind, p in plugins if kind == "extractors"}
    loaders = {p["name"]: p for kind, p in plugins if kind == "loaders"}
    env_config = {
        p.get("name"): p.get("config") or {}
        for entries in ((environments[env_name].get("config") or {}).get("plugins") or {}).values()
        for p in entries or []
    }

    def algolia_application(loader: str) -> str | None:
        """The plugin whose app_id this Algolia loader uses; None if not an Algolia loader."""
        chain, name = [], loader
        while name in loaders and name not in chain:
            chain.append(name)
            name = loaders[name].get("inherit_from")
        if not chain or loaders[chain[-1]].get("namespace") != "target_algolia":
            return None
        for plugin in chain:
            if "app_id" in env_config.get(plugin, {}) or "app_id" in (
                loaders[plugin].get("config") or {}
            ):
                return plugin
        return chain[-1]

    def same_source(extractor: str) -> str:
        """The extractor up the inherit_from chain that an instance without config reads as."""
        seen = [extractor]
        while (
            not extractors[extractor].get("config")
            and not env_config.get(extractor)
            and (parent := extractors[extractor].get("inherit_from")) in extractors
            and parent not in seen
        ):
            extractor = parent
            seen.append(parent)
        return extractor

    def pool(blocks: tuple[str, ...], ids: tuple[str, ...]) -> str | None:
        writers = {a for b in blocks if b in loaders and (a := algolia_application(b))}
        if len(writers) == 1 and len(ids) <= 1:
            return f"{env_name}:algolia-writes:{writers.pop()}"
        tables = state_ids(blocks, same_source)
        return tables[0] if len(tables) == 1 else None

    def state_ids(
        blocks: tuple[str, ...], source: Callable[[str], str] = lambda name: name
    ) -> tuple[str, ...]:
        found, extractor = [], None
        for block in blocks:
            if block in extractors:
                extractor = source(block)
            elif block in loaders and extractor is not None:
                found.append(":".join(filter(None, [env_name, f"{extractor}-to-{block}", suffix])))
                extractor = None
        return tuple(found)

    jobs = []
    for d in documents:
        for raw in d.get("jobs") or []:
            tasks = tuple(
                Task(blocks=blocks, state_ids=(ids := state_ids(blocks)), pool=pool(blocks, ids))
                for blocks in _task_blocks(raw.get("tasks"), raw.get("name"))
            )
            jobs.append(Job(name=str(raw["name"]), tasks=tasks))
    job_names = {j.name for j in jobs}

    schedules = []
    for d in documents:
        for raw in d.get("schedules") or []:
            schedules.append(_schedule(raw, job_names))
    return MeltanoProject(
        root=root,
        environment=str(env_name),
        jobs=tuple(jobs),
        schedules=tuple(schedules),
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise MeltanoProjectError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise MeltanoProjectError(f"{path} must hold a mapping at the top level")
    return document


def _task_blocks(tasks: Any, job: Any) -> list[tuple[str, ...]]:
    """Meltano accepts a string, a list of strings, or a list of lists of names."""
    if isinstance(tasks, str):
        tasks = [tasks]
    if not isinstance(tasks, list) or not tasks:
        raise MeltanoProjectError(f"Meltano job {job!r} has no tasks")
    out = []
    for task in tasks:
        blocks = task.split() if isinstance(task, str) else [str(b) for b in task]
        if not blocks:
            raise MeltanoProjectError(f"Meltano job {job!r} has an empty task")
        out.append(tuple(blocks))
    return out


def _schedule(raw: Mapping[str, Any], job_names: set[str]) -> Schedule:
    name = raw.get("name")
    if "job" not in raw:
        raise MeltanoProjectError(
            f"Meltano schedule {name!r} is an extractor/loader (ELT) schedule: only job "
            "schedules become Dagster schedules; declare a job and schedule that instead"
        )
    if raw.get("env"):
        # Those variables would silently be missing from Dagster runs.
        raise MeltanoProjectError(
            f"Meltano schedule {name!r} sets env: set those variables in the Dagster "
            "deployment's environment instead (Dagster runs jobs, not `meltano schedule run`)"
        )
    job = str(raw["job"])
    if job not in job_names:
        raise MeltanoProjectError(f"Meltano schedule {name!r} names unknown job {job!r}")
    interval = str(raw.get("interval") or "@manual").strip()
    cron = INTERVAL_PRESETS.get(interval.lower(), interval)
    return Schedule(name=str(name), job=job, interval=interval, cron=cron)
