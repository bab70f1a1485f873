"""Meltano jobs and schedules as Dagster jobs and schedules.

- One Dagster job per Meltano job, named after it (``-`` becomes ``_``); one op
  per task, run in the task order, each running ``meltano --environment <env>
  run <task>`` through Dagster Pipes (see pipes_meltano.py).
- One Dagster schedule per Meltano job schedule with the same cron string, in
  UTC, running by default (as the schedules in meltano.yml are meant to).
- Each op is in the Dagster concurrency pool meltano_project.py names for its
  task: the state ID (``dev:tap-algolia-to-target-jsonl``), or for a writer to
  Algolia, its application (``dev:algolia-writes:target-algolia``). With the
  pool limit at 1 (the shipped dagster.yaml sets
  ``concurrency.pools.default_limit: 1`` and ``granularity: run``), the
  daemon's run queue never starts a run while another run holding one of its
  pools is in progress: two runs that would write the same state, or the same
  application's segments, never execute at the same time, while pipelines of
  different applications run side by side. (Runs that bypass the queue,
  ``dagster job execute``, are not held; see pools.py for creating the pools.)
- Nothing secret goes through Dagster: the ops take no config, and Meltano and
  the plugins read credentials from the environment of the process running
  the step.
"""

import re
import sys
from collections.abc import Sequence

import dagster as dg
from dagster import OpExecutionContext

from .meltano_project import Job, MeltanoProject, MeltanoProjectError, Task

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
RESOURCE_KEY = "meltano_pipes"


def dagster_name(name: str) -> str:
    """Dagster names match ^[A-Za-z0-9_]+$."""
    return _UNSAFE.sub("_", name)


def _task_op(task: Task, project: MeltanoProject, meltano_bin: str) -> dg.OpDefinition:
    if len(task.state_ids) > 1:
        raise MeltanoProjectError(
            f"task {task.command!r} holds {len(task.state_ids)} extractor-loader pairs: split it "
            "into one task per pair, so each can be kept from overlapping with its own state ID"
        )
    pool = task.pool
    args = [meltano_bin, f"--environment={project.environment}", "run", *task.blocks]

    @dg.op(
        name=dagster_name(task.command),
        description=f"`meltano --environment={project.environment} run {task.command}`"
        + (f" (state ID {', '.join(task.state_ids)}; pool {pool})" if pool else ""),
        ins={"after": dg.In(dg.Nothing)},
        out=dg.Out(dg.Nothing),
        pool=pool,
        tags={"kind": "meltano", "meltano/task": task.command},
        required_resource_keys={RESOURCE_KEY},
    )
    def run_task(context: OpExecutionContext) -> None:
        client: dg.PipesSubprocessClient = getattr(context.resources, RESOURCE_KEY)
        try:
            client.run(
                context=context,
                command=[sys.executable, "-m", "algolia_dagster.pipes_meltano", *args],
                cwd=str(project.root),
            )
        except Exception as exc:  # Meltano exited non-zero (or could not start)
            raise dg.Failure(
                description=f"`meltano run {task.command}` failed ({exc}); "
                "Meltano's output is in this step's log above",
                allow_retries=True,
            ) from exc

    return run_task


def _job(job: Job, ops: dict[str, dg.OpDefinition], project: MeltanoProject) -> dg.JobDefinition:
    dependencies: dict[str, dict[str, dg.DependencyDefinition]] = {}
    nodes: list[dg.OpDefinition] = []
    previous: str | None = None
    for task in job.tasks:
        op_def = ops[task.command]
        node = op_def.name
        if any(n.name == node for n in nodes):
            raise MeltanoProjectError(f"Meltano job {job.name!r} runs {task.command!r} twice")
        nodes.append(op_def)
        if previous is not None:
            dependencies[node] = {"after": dg.DependencyDefinition(previous)}
        previous = node
    graph = dg.GraphDefinition(
        name=dagster_name(job.name), node_defs=nodes, dependencies=dependencies
    )
    state_ids = [s for t in job.tasks for s in t.state_ids]
    return graph.to_job(
        description=f"Meltano job `{job.name}` ({project.environment}): "
        + "; ".join(t.command for t in job.tasks),
        tags={
            "meltano/job": job.name,
            "meltano/environment": project.environment,
            "meltano/state_ids": ",".join(state_ids),
        },
    )


def build_jobs_and_schedules(
    project: MeltanoProject, meltano_bin: str
) -> tuple[list[dg.JobDefinition], list[dg.ScheduleDefinition]]:
    names: dict[str, str] = {}
    for name in [j.name for j in project.jobs] + [s.name for s in project.schedules]:
        other = names.setdefault(dagster_name(name), name)
        if other != name:
            raise MeltanoProjectError(f"Meltano names {other!r} and {name!r} clash in Dagster")
    ops: dict[str, dg.OpDefinition] = {}
    for job in project.jobs:
        for task in job.tasks:
            if task.command not in ops:
                op_def = _task_op(task, project, meltano_bin)
                clash = [c for c, o in ops.items() if o.name == op_def.name]
                if clash:
                    raise MeltanoProjectError(
                        f"Meltano tasks {clash[0]!r} and {task.command!r} clash in Dagster"
                    )
                ops[task.command] = op_def
    jobs = {job.name: _job(job, ops, project) for job in project.jobs}

    schedules: list[dg.ScheduleDefinition] = []
    for schedule in project.schedules:
        if schedule.cron is None:
            continue  # @once / @manual / @none: the job is there to launch by hand
        try:
            definition = dg.ScheduleDefinition(
                name=dagster_name(schedule.name),
                job=jobs[schedule.job],
                cron_schedule=schedule.cron,
                execution_timezone="UTC",
                default_status=dg.DefaultScheduleStatus.RUNNING,
                description=f"Meltano schedule `{schedule.name}`: {schedule.interval}",
                tags={"meltano/schedule": schedule.name},
            )
        except dg.DagsterInvalidDefinitionError as exc:
            raise MeltanoProjectError(
                f"Meltano schedule {schedule.name!r}: interval {schedule.interval!r} is not a "
                "five-field cron string or a Meltano preset (@hourly, @daily, ...)"
            ) from exc
        schedules.append(definition)
    return list(jobs.values()), schedules


def build_definitions(project: MeltanoProject, meltano_bin: str) -> dg.Definitions:
    jobs, schedules = build_jobs_and_schedules(project, meltano_bin)
    return dg.Definitions(
        jobs=jobs,
        schedules=schedules,
        resources={RESOURCE_KEY: dg.PipesSubprocessClient()},
    )


__all__: Sequence[str] = ["build_definitions", "build_jobs_and_schedules", "dagster_name"]
