"""Create the code location's concurrency pools on the Dagster instance before
its daemon dequeues their runs: ``python -m algolia_dagster.pools``.

The rule: every pool an op of this code location names (see
meltano_project.py) exists on the instance, with the instance's
``concurrency.pools.default_limit``, before two of its runs can be queued.

Why: with ``concurrency.pools.granularity: run`` the daemon's run queue checks
each queued run against the pools' limits, but in Dagster 1.13 one dequeue pass
reads the list of existing pools *before* it creates the pools it meets for the
first time, and a pool missing from that list counts as unlimited. Two runs of
a pool nobody has used yet, queued in the same pass (the first scheduled tick
of two exports into one application, a manual launch beside it), would both be
started. Once the pool exists, every pass sees it. Run this once per deployment
and again after a job is added to meltano.yml; it leaves pools that already
exist, and any limit set on them by hand, as they are.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence

import dagster as dg

from .meltano_project import MeltanoProject, load_project
from .settings import project_root


def project_pools(project: MeltanoProject) -> list[str]:
    """Every pool an op of this project's jobs runs in, sorted."""
    return sorted({t.pool for j in project.jobs for t in j.tasks if t.pool})


def create_missing_pools(instance: dg.DagsterInstance, pools: Iterable[str]) -> list[str]:
    """Give each pool that does not exist yet the instance's default limit; returns those."""
    if instance.global_op_concurrency_default_limit is None:
        raise ValueError(
            "the Dagster instance sets no concurrency.pools.default_limit: copy "
            "algolia-dagster/dagster.yaml into $DAGSTER_HOME (or merge its concurrency block)"
        )
    storage = instance.event_log_storage
    existing = {p.name for p in storage.get_pool_limits()}
    created = [p for p in pools if p not in existing]
    for pool in created:
        storage.initialize_concurrency_limit_to_default(pool)
    return created


def main(argv: Sequence[str]) -> int:
    if argv:
        print("usage: python -m algolia_dagster.pools   (uses $DAGSTER_HOME)", file=sys.stderr)
        return 2
    try:
        with dg.DagsterInstance.get() as instance:
            pools = project_pools(load_project(project_root()))
            created = create_missing_pools(instance, pools)
            limit = instance.global_op_concurrency_default_limit
    except Exception as exc:  # no DAGSTER_HOME, bad meltano.yml, no default limit
        print(f"cannot create the concurrency pools: {exc}", file=sys.stderr)
        return 1
    for pool in pools:
        print(f"{pool}: {'created, limit ' + str(limit) if pool in created else 'exists'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
