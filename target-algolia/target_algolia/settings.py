"""Every setting of target-algolia: its declaration, and the one typed object it is read into.

The rule: every ``th.Property`` of the target is declared here (the settings
of the connection come from ``algolia_api``), and the config is read once,
when the target starts, into :class:`TargetSettings`, a frozen object. No
other module reads the config: the target, the sinks and the writers are
handed the typed values they need, so a setting's name, type and default are
written in one place. Settings that are parsed further (mirror and erasure
streams) are checked here too, so a bad one fails at start-up.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from algolia_api import (
    CONNECTION_PROPERTIES,
    MAX_REQUESTS_PER_MINUTE,
    ConnectionSettings,
    plugin_config_schema,
)
from target_algolia.input.max_wait import DEFAULT_MAX_WAIT_SECONDS
from target_algolia.merge import MAX_SEGMENT_ID_LENGTH, Trigger, segment_id_problem
from target_algolia.numbers import shown
from target_algolia.outcomes import MAX_REJECTED_FRACTION
from target_algolia.segment_text import invisible_character_problem
from target_algolia.write.scan import ReadStrategy

#: Upper bounds of the target's numeric settings (schema ``maximum``): a larger
#: value is a typo, and past the range of a timer or a float it would crash.
MAX_CONCURRENCY = 256
MAX_WAIT_LIMIT_SECONDS = 86_400


TARGET_PROPERTIES = th.PropertiesList(
    th.Property(
        "user_id_field",
        th.StringType,
        default="algolia_user_id",
        title="User ID mapping",
        description="Record field holding the Algolia userID of the profile to update.",
    ),
    th.Property(
        "trigger_events",
        th.StringType,
        default=Trigger.BOTH.value,
        allowed_values=[trigger.value for trigger in Trigger],
        title="Trigger events",
        description=(
            "Membership changes to apply: `entry` (only add segments), `exit` "
            "(only remove them) or `both`."
        ),
    ),
    th.Property(
        "segment_source",
        # At least one character that is not whitespace, and no longer than a segment ID.
        th.StringType(min_length=1, max_length=MAX_SEGMENT_ID_LENGTH, pattern=r"\S"),
        default="meltano",
        title="Segment source",
        description=(
            "The `source` written on every segment this target manages. Only "
            "segments with this source are ever removed; all others are preserved."
        ),
    ),
    th.Property(
        "dry_run",
        th.BooleanType,
        default=False,
        title="Dry run",
        description=(
            "Log the change each user would get and write nothing. Profiles are "
            "still read (GET) to compute the change."
        ),
    ),
    th.Property(
        "max_requests_per_minute",
        th.IntegerType(minimum=1, maximum=MAX_REQUESTS_PER_MINUTE),
        default=400,
        title="Request budget per minute",
        description=(
            "Most API calls this run may make per minute, GETs and PUTs together. "
            "Keep it under the application's limit of 500 if other clients share it. "
            "At most 100000000."
        ),
    ),
    th.Property(
        "concurrency",
        th.IntegerType(minimum=1, maximum=MAX_CONCURRENCY),
        default=8,
        title="Concurrency",
        description=(
            "Users written in parallel within a batch (one shared request budget), 1 to 256."
        ),
    ),
    th.Property(
        "rejects_path",
        th.StringType,
        title="Rejects file",
        description=(
            "Optional JSON-lines file (`~` is expanded). Every record that was "
            "rejected, or whose profile does not exist, is appended as "
            "{record, reason, stream}."
        ),
    ),
    th.Property(
        "max_wait_seconds",
        th.NumberType(exclusive_minimum=0, maximum=MAX_WAIT_LIMIT_SECONDS),
        default=DEFAULT_MAX_WAIT_SECONDS,
        title="Longest wait before a write",
        description=(
            "Longest a record waits, from its arrival on the input, before the target "
            "starts writing it, also when the input goes quiet; the STATE after it is "
            "emitted once it is written. A full batch (batch_size_rows) is written at "
            "once. When input outruns the request budget, writes queue up and the "
            "summary reports the backlog. At most 86400 (a day)."
        ),
    ),
    th.Property(
        "read_strategy",
        th.StringType,
        default=ReadStrategy.AUTO.value,
        allowed_values=[strategy.value for strategy in ReadStrategy],
        title="Read strategy",
        description=(
            "How current segments are read: `per_user` (one GET per user with a "
            "change), `list_scan` (pages of GET /2/users, one call per 1,000 "
            "profiles; unchanged users cost nothing more) or `auto` (per user for "
            "batches under 1,000 users, else a scan that falls back to per-user "
            "reads once it has cost as many calls as users remain unseen)."
        ),
    ),
    th.Property(
        "reread_before_write",
        th.BooleanType,
        default=False,
        title="Re-read before write",
        description=(
            "With a list scan, GET each changed profile again just before its PUT: "
            "one more call per changed user, and a shorter window in which another "
            "system's write to the same profile can be overwritten."
        ),
    ),
    th.Property(
        "summary_interval_seconds",
        th.IntegerType(minimum=0, maximum=MAX_WAIT_LIMIT_SECONDS),
        default=60,
        title="Summary interval",
        description=(
            "Seconds between progress summaries on long runs (0: only at the end), at most 86400."
        ),
    ),
)


#: Guard defaults: a mirror run that would remove segments from more profiles
#: than this, or from more than this share of the profiles holding the
#: stream's audiences, stops before any write (a truncated table is 100%).
DEFAULT_MAX_REMOVALS = 1000
DEFAULT_MAX_REMOVAL_FRACTION = 0.5


@dataclass(frozen=True)
class MirrorStream:
    """One entry of the ``mirror_streams`` setting."""

    stream: str
    audiences: frozenset[str]
    count_field: str | None = None


def parse_mirror_streams(raw: t.Any) -> dict[str, MirrorStream]:
    """The ``mirror_streams`` setting by stream name; overlapping scopes are refused."""
    if raw in (None, []):
        return {}
    problems: list[str] = []
    streams: dict[str, MirrorStream] = {}
    owner: dict[str, str] = {}
    if not isinstance(raw, list):
        raise ConfigValidationError(
            "Invalid target settings", errors=["mirror_streams must be a list of objects"]
        )
    for position, item in enumerate(raw):
        where = f"mirror_streams[{position}]"
        if not isinstance(item, dict):
            problems.append(f"{where} must be an object with stream and audiences")
            continue
        name = item.get("stream")
        audiences = item.get("audiences")
        count_field = item.get("count_field")
        if not isinstance(name, str) or not name:
            problems.append(f"{where}.stream must be a non-empty string")
            continue
        if name in streams:
            problems.append(f"stream {name!r} is named twice in mirror_streams")
            continue
        if not isinstance(audiences, list) or not audiences:
            problems.append(f"{where}.audiences must be a non-empty list of audience IDs")
            continue
        bad = [slug for slug in audiences if segment_id_problem(slug)]
        if bad:
            problems.append(f"{where}.audiences has invalid audience IDs: {shown(bad[:3])}")
            continue
        if count_field is not None and (not isinstance(count_field, str) or not count_field):
            problems.append(f"{where}.count_field must be a non-empty string")
            continue
        for slug in audiences:
            if slug in owner and owner[slug] != name:
                problems.append(
                    f"audience {slug!r} is in the scope of two mirror streams, "
                    f"{owner[slug]!r} and {name!r}: each audience needs one source of truth"
                )
            owner[slug] = name
        streams[name] = MirrorStream(name, frozenset(audiences), count_field)
    if problems:
        raise ConfigValidationError("Invalid target settings", errors=problems)
    return streams


MIRROR_PROPERTIES = th.PropertiesList(
    th.Property(
        "mirror_streams",
        th.ArrayType(
            th.ObjectType(
                th.Property("stream", th.StringType, required=True),
                th.Property("audiences", th.ArrayType(th.StringType), required=True),
                th.Property("count_field", th.StringType),
            )
        ),
        title="Mirror streams",
        description=(
            "Streams that carry the complete current membership of some audiences: "
            "[{stream, audiences, count_field}]. Once a stream's input is proven "
            "complete (ACTIVATE_VERSION after its records, or count_field matching "
            "the distinct rows received; every proof present must hold), profiles "
            "absent from it lose its audiences' segments. Each audience may belong "
            "to one stream only."
        ),
    ),
    th.Property(
        "mirror_allow_empty_audience",
        th.BooleanType,
        default=False,
        title="Allow an empty mirror audience",
        description=(
            "Apply a proven-complete mirror stream in which an audience that profiles "
            "hold has no members (removes it from everyone)."
        ),
    ),
    th.Property(
        "mirror_max_removals",
        th.IntegerType(minimum=0),
        default=DEFAULT_MAX_REMOVALS,
        title="Most profiles a mirror run may remove from",
        description=(
            "A mirror stream whose plan removes segments from more profiles than "
            "this, for its audiences together or for any one of them, stops the run "
            "before any write."
        ),
    ),
    th.Property(
        "mirror_max_removal_fraction",
        th.NumberType(minimum=0, maximum=1),
        default=DEFAULT_MAX_REMOVAL_FRACTION,
        title="Largest share of holders a mirror run may remove from",
        description=(
            "A mirror stream whose plan removes segments from more than this "
            "fraction of the distinct profiles holding its audiences now, together "
            "or any one of them, stops the run before any write."
        ),
    ),
    th.Property(
        "mirror_plan_path",
        th.StringType,
        title="Mirror plan file",
        description=(
            "Optional JSON Lines file that receives the whole mirror plan, one "
            '{"userID", "add", "remove"} per changed profile (with dry_run: '
            "what a real run would do)."
        ),
    ),
)


#: Guard default: a run whose erasure streams name more users than this erases none.
DEFAULT_MAX_ERASURES = 100


ERASURE_PROPERTIES = th.PropertiesList(
    th.Property(
        "erasure_streams",
        th.ArrayType(th.StringType),
        title="Erasure streams",
        description=(
            "Streams whose records each name, in the user ID field, a user whose "
            "Algolia profile is deleted (DELETE /2/users/{userID}), e.g. GDPR "
            "erasure requests. Applied once the input has ended; a 404 counts as "
            "already erased. With dry_run the profiles are only read."
        ),
    ),
    th.Property(
        "erasure_max_profiles",
        th.IntegerType(minimum=0),
        default=DEFAULT_MAX_ERASURES,
        title="Most profiles one run may erase",
        description=(
            "A run whose erasure streams name more distinct users than this "
            "erases none of them and fails with one line; raise it to apply a "
            "larger batch of requests."
        ),
    ),
)


def parse_erasure_streams(raw: t.Any, mirror_streams: t.Iterable[str]) -> frozenset[str]:
    """The ``erasure_streams`` setting; a stream cannot also be a mirror stream."""
    if raw in (None, []):
        return frozenset()
    if not isinstance(raw, list) or not all(isinstance(s, str) and s for s in raw):
        raise ConfigValidationError(
            "Invalid target settings",
            errors=["erasure_streams must be a list of stream names"],
        )
    both = sorted(set(raw) & set(mirror_streams))
    if both:
        raise ConfigValidationError(
            "Invalid target settings",
            errors=[
                f"stream {both[0]!r} is in both erasure_streams and mirror_streams: "
                "a stream either names profiles to delete or carries audience members"
            ],
        )
    return frozenset(raw)


#: Half: a run whose input is mostly unusable (a column mapped wrongly, a CSV
#: whose segments column is in another format) fails; stray bad rows do not.
DEFAULT_MAX_REJECTED_FRACTION = 0.5

REJECTED_SHARE_PROPERTIES = th.PropertiesList(
    th.Property(
        MAX_REJECTED_FRACTION,
        th.NumberType(minimum=0, maximum=1),
        default=DEFAULT_MAX_REJECTED_FRACTION,
        title="Largest share of rejected records",
        description=(
            "A run in which more than this fraction of the records were rejected "
            "exits non-zero once the valid ones are written, and emits no STATE for "
            "its input, so the next run reads it again. 0: any rejected record "
            "fails the run; 1: never. Below 1, a run that applied none of its records "
            "(each rejected, or for a user with no profile) fails too. A run with no "
            "records never fails."
        ),
    ),
)


#: The target's config schema: the connection first, then each group above.
CONFIG_JSONSCHEMA = plugin_config_schema(
    CONNECTION_PROPERTIES,
    TARGET_PROPERTIES,
    REJECTED_SHARE_PROPERTIES,
    MIRROR_PROPERTIES,
    ERASURE_PROPERTIES,
)


def parse_segment_source(raw: str) -> str:
    """The ``segment_source`` setting; one holding an invisible character is refused.

    The rule is a segment ID's (``segment_text``): the source is written on
    every segment, where such a character would not show.
    """
    problem = invisible_character_problem("segment_source", raw)
    if problem:
        raise ConfigValidationError("Invalid target settings", errors=[problem])
    return raw


@dataclass(frozen=True)
class MirrorGuardSettings:
    """The mirror guards' settings (see ``mirror.plan``)."""

    allow_empty_audience: bool
    max_removals: int
    max_removal_fraction: float


@dataclass(frozen=True)
class TargetSettings:
    """The target's config, read once and typed; nothing else reads the config."""

    connection: ConnectionSettings
    user_id_field: str
    trigger: Trigger
    segment_source: str
    dry_run: bool
    max_requests_per_minute: int
    concurrency: int
    rejects_path: str | None
    max_wait_seconds: float
    read_strategy: ReadStrategy
    reread_before_write: bool
    summary_interval_seconds: float
    max_rejected_fraction: float
    mirror_streams: dict[str, MirrorStream]
    mirror_guards: MirrorGuardSettings
    mirror_plan_path: str | None
    erasure_streams: frozenset[str]
    erasure_max_profiles: int

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> TargetSettings:
        """Read a config singer-sdk has validated (its defaults filled in).

        A segment_source with an invisible character, overlapping mirror
        scopes, malformed entries and a stream both erased and mirrored are
        refused here, at start-up.
        """
        segment_source = parse_segment_source(config["segment_source"])
        mirror_streams = parse_mirror_streams(config.get("mirror_streams"))
        return cls(
            connection=ConnectionSettings.from_config(config),
            user_id_field=config["user_id_field"],
            trigger=Trigger(config["trigger_events"]),
            segment_source=segment_source,
            dry_run=bool(config["dry_run"]),
            max_requests_per_minute=int(config["max_requests_per_minute"]),
            concurrency=int(config["concurrency"]),
            rejects_path=config.get("rejects_path"),
            max_wait_seconds=float(config["max_wait_seconds"]),
            read_strategy=ReadStrategy(config["read_strategy"]),
            reread_before_write=bool(config["reread_before_write"]),
            summary_interval_seconds=float(config["summary_interval_seconds"]),
            max_rejected_fraction=float(config[MAX_REJECTED_FRACTION]),
            mirror_streams=mirror_streams,
            mirror_guards=MirrorGuardSettings(
                allow_empty_audience=bool(config["mirror_allow_empty_audience"]),
                max_removals=int(config["mirror_max_removals"]),
                max_removal_fraction=float(config["mirror_max_removal_fraction"]),
            ),
            mirror_plan_path=config.get("mirror_plan_path"),
            erasure_streams=parse_erasure_streams(config.get("erasure_streams"), mirror_streams),
            erasure_max_profiles=int(config["erasure_max_profiles"]),
        )
