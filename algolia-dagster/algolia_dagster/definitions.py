"""The code location Dagster loads (``dagster dev`` in algolia-dagster/, or
``dagster dev -m algolia_dagster.definitions``): every job and schedule of the
Meltano project's meltano.yml."""

from __future__ import annotations

from .dagster_jobs import build_definitions
from .meltano_project import load_project
from .settings import meltano_bin, project_root

_root = project_root()
defs = build_definitions(load_project(_root), meltano_bin(_root))
