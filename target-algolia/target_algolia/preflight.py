"""``target-algolia --test``: a read-only check that a real run would be let in.

Rule: one ``GET /2/users`` page (``PREFLIGHT_PAGE`` profiles, one call) and
nothing else: nothing is written, deleted or read from the input. That call
needs the same application ID, key, ACLs (search, browse, recommendation) and
regional host as every call of a run, so it proves them all; and the profiles
it returns show whether this application serves the segments field (the
beta). Every problem is one line that says what to do; the exit status is 1
if there was any, else 0 after one OK line. The configuration is read and
checked as for a run (an invalid setting, a rejects_path that cannot be
written, overlapping mirror scopes: each one line, exit 1).

The segments check is a heuristic: a profile without ``segments`` means an
empty list, so an application where no system has written segments yet looks
the same as one without the beta. It is a problem only when the page holds
profiles and none of them carries the field.
"""

from __future__ import annotations

import dataclasses
import typing as t
from functools import partial

import click
import requests

from algolia_api import (
    AlgoliaAPIError,
    AlgoliaClient,
    AuthenticationError,
    ForbiddenError,
    NotFoundError,
    user_agent,
)
from target_algolia.sdk_internals import cli_config

if t.TYPE_CHECKING:
    import logging

    from target_algolia.settings import TargetSettings


class Checked(t.Protocol):
    """What the preflight uses of the target it builds (TargetAlgolia)."""

    name: str
    settings: TargetSettings

    @property
    def logger(self) -> logging.Logger: ...

    def get_plugin_version(self) -> str: ...


#: Profiles the one list call asks for: enough to see a segments field if any has one.
PREFLIGHT_PAGE = 100
#: A preflight should answer in seconds, not wait through a run's full backoff.
PREFLIGHT_MAX_RETRIES = 2

ACLS = "search, browse and recommendation"


def _problem_of(error: BaseException, base_url: str) -> str:
    """The one line for a failed preflight call."""
    if isinstance(error, AuthenticationError):
        return (
            f"401 from Algolia at {base_url}: check the application ID, the API key's "
            f"ACLs ({ACLS}) and the region (us or eu) of the application"
        )
    if isinstance(error, ForbiddenError):
        return (
            f"403 from Algolia at {base_url}: the API key lacks an ACL; give it {ACLS} "
            "(dashboard: Settings > API Keys)"
        )
    if isinstance(error, NotFoundError):
        return (
            f"404 from Algolia on GET /2/users at {base_url}: no Advanced Personalization "
            "API there; check the region and api_url"
        )
    if isinstance(error, requests.exceptions.Timeout):
        return f"Algolia at {base_url} did not answer in time: check the region/api_url"
    if isinstance(error, requests.exceptions.ConnectionError):
        return (
            f"Could not reach Algolia at {base_url}: check the region/api_url and "
            "connectivity (proxy, firewall)"
        )
    if isinstance(error, AlgoliaAPIError):
        return f"{error}; try again later if it persists"
    raise error


def preflight(target: Checked) -> tuple[list[str], str]:
    """(problems, the OK line): one list call with the target's settings, nothing written."""
    connection = target.settings.connection
    settings = dataclasses.replace(
        connection, max_retries=min(connection.max_retries, PREFLIGHT_MAX_RETRIES)
    )
    client = AlgoliaClient(
        settings, agent=user_agent(target.name, target.get_plugin_version()), logger=target.logger
    )
    try:
        page = client.list_users(limit=PREFLIGHT_PAGE)
    except (AlgoliaAPIError, requests.exceptions.RequestException) as error:
        return [_problem_of(error, settings.base_url)], ""
    finally:
        client.close()
    users = page.get("users") if isinstance(page, dict) else None
    if not isinstance(users, list):
        return [f"GET /2/users at {settings.base_url} answered without a users list"], ""
    carrying = sum(1 for user in users if isinstance(user, dict) and "segments" in user)
    if users and not carrying:
        return [
            f"None of the {len(users)} profiles read carries a segments field: the segments "
            "beta is probably not enabled on this application (ask Algolia to enable it), "
            "unless no system has written segments yet"
        ], ""
    return [], (
        f"OK: {settings.base_url} accepted application {settings.app_id} and its key "
        f"({ACLS}); {len(users)} profiles read, {carrying} with a segments field; "
        "nothing was written"
    )


def run_test_option(
    target_class: t.Callable[..., Checked], ctx: click.Context, _param: click.Parameter, value: bool
) -> None:
    """The ``--test`` callback: build the target from ``--config`` as a run would, check, exit."""
    if not value:
        return
    config, parse_env = cli_config(ctx)
    target = target_class(config=config, parse_env_config=parse_env, validate_config=True)
    problems, ok = preflight(target)
    for problem in problems:
        target.logger.error("%s", problem)
    if not problems:
        target.logger.info("%s", ok)
    ctx.exit(1 if problems else 0)


def test_option(target_class: t.Callable[..., Checked]) -> click.Option:
    """``--test``, as singer-sdk taps have it, for the target: the read-only preflight."""
    return click.Option(
        ["--test"],
        is_flag=True,
        expose_value=False,
        help=(
            "Check the credentials, region, ACLs and the segments field with one read "
            "call, write nothing, and exit (1 if any problem, one line each)."
        ),
        callback=partial(run_test_option, target_class),
    )
