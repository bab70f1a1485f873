"""Hypothesis: no write is ever built on an answer that is not a profile (issue 20).

Hypothesis generates answers a broken or hostile server could give to
``GET /2/users/{userID}`` and to a list page of ``GET /2/users``: odd statuses,
bodies that are cut short, not JSON, another user's profile, ``segments`` of
every wrong type, segment entries of every wrong shape, lone surrogates. The
emulator serves each one (a body fault) to target-algolia running in-process
over real HTTP, and for every case:

* no PUT reaches Algolia, and the other systems' segments are as they were;
* the run fails (no STATE), since the read never succeeds.

Whether a generated answer *is* a valid profile is decided by the small model
below, written from the segments contract, not by the code under test; such
answers are discarded (they are not faults).
"""

from __future__ import annotations

import json
import typing as t

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from algolia_emulator import EmulatorServer
from algolia_emulator.faults import BodyFault
from algolia_testkit import reliability as kit
from algolia_testkit import target_runs as tk

M = "meltano"
OTHERS = [("vip", "crm"), ("old", M)]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


# The model: what a profile is, from the segments contract -------------------------------


def _text(value: t.Any) -> bool:
    if type(value) is not str or not value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def model_is_profile(value: t.Any, user_id: str | None) -> bool:
    if type(value) is not dict or type(value.get("userID")) is not str:
        return False
    if user_id is not None and value["userID"] != user_id:
        return False
    if "segments" not in value:
        return True
    segments = value["segments"]
    return type(segments) is list and all(
        type(s) is dict and _text(s.get("id")) and _text(s.get("source")) for s in segments
    )


def model_parse(body: bytes) -> tuple[bool, t.Any]:
    """(True, value) when ``body`` is strict JSON (lone surrogate escapes allowed)."""

    def refuse(name: str) -> t.NoReturn:
        raise ValueError(name)

    try:
        return True, json.loads(body.decode("utf-8"), parse_constant=refuse)
    except ValueError:
        return False, None


# Generated answers --------------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
segment_ids = st.sampled_from(["vip", "x", "", "\\ud800", "a\\udfff", 7, None, ["vip"]])
segments_entries = st.one_of(
    json_values,
    st.fixed_dictionaries({"id": segment_ids, "source": segment_ids}),
    st.fixed_dictionaries({"id": segment_ids}),
)
segments_fields = st.one_of(json_values, st.lists(segments_entries, min_size=1, max_size=3))
user_ids = st.sampled_from(["u1", "u2", "U1", "u1 ", 1, None, ["u1"]])


@st.composite
def profiles(draw: st.DrawFn) -> t.Any:
    profile: dict[str, t.Any] = {"lastUpdatedAt": tk.STAMP}
    if draw(st.booleans()):
        profile["userID"] = draw(user_ids)
    if draw(st.booleans()):
        profile["segments"] = draw(segments_fields)
    return draw(st.one_of(st.just(profile), json_values))


def _encode(value: t.Any) -> bytes:
    # The sampled "\\ud800" texts become lone surrogate escapes on the wire.
    return json.dumps(value).replace("\\\\ud", "\\ud").encode()


def _mangle(draw: st.DrawFn, body: bytes) -> bytes:
    how = draw(st.sampled_from(["as-is", "as-is", "cut", "html", "bad-byte", "empty"]))
    if how == "cut" and body:
        return body[: draw(st.integers(0, len(body) - 1))]
    if how == "html":
        return b"<html><body>" + body[:20] + b"</body></html>"
    if how == "bad-byte" and body:
        at = draw(st.integers(0, len(body) - 1))
        return body[:at] + b"\xff" + body[at:]
    if how == "empty":
        return b""
    return body


@st.composite
def profile_answers(draw: st.DrawFn) -> tuple[int, bytes]:
    status = draw(st.sampled_from([200, 200, 200, 201, 204, 301, 302, 304]))
    body = _mangle(draw, _encode(draw(profiles())))
    if 200 <= status < 300:
        parsed, value = model_parse(body)
        assume(not (parsed and model_is_profile(value, "u1")))
    return status, body


@st.composite
def page_answers(draw: st.DrawFn) -> bytes:
    good = {"userID": "u1", "lastUpdatedAt": tk.STAMP, "segments": [{"id": "vip", "source": "crm"}]}
    users = draw(st.lists(st.one_of(st.just(good), profiles()), min_size=1, max_size=3))
    page: t.Any = {"users": users} if draw(st.integers(0, 9)) else {"users": draw(json_values)}
    body = _mangle(draw, _encode(page))
    parsed, value = model_parse(body)
    assume(
        not (
            parsed
            and type(value) is dict
            and type(value.get("users")) is list
            and all(model_is_profile(u, None) for u in value["users"])
            and (value.get("nextPageToken") is None or type(value["nextPageToken"]) is str)
        )
    )
    return body


# Runs ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> t.Iterator[EmulatorServer]:
    with EmulatorServer(users=0, api_keys=kit.API_KEYS, rate_limit=10**9) as emu:
        yield emu


def _reset(server: EmulatorServer, status: int, body: bytes, path: str) -> None:
    server.emulator.faults.clear()
    tk.put_user(server, "u1", OTHERS)
    tk.put_user(server, "u2", [("gone", M)])
    server.admin.reset_stats()
    server.emulator.faults.add_body(
        BodyFault(method="GET", path=path, status=status, body=body, remaining=10**6)
    )


def _assert_nothing_written(server: EmulatorServer, run: tk.InProcessRun) -> None:
    assert run.error is not None
    assert run.states == []
    assert server.admin.stats()["userPuts"] == {}
    assert tk.segments_of(server, "u1") == OTHERS
    assert tk.segments_of(server, "u2") == [("gone", M)]


@FUZZ
@given(answer=profile_answers())
def test_no_write_is_built_on_a_profile_read_that_is_not_the_profile(
    server: EmulatorServer, answer: tuple[int, bytes]
) -> None:
    status, body = answer
    _reset(server, status, body, "/2/users/u1")
    config = kit.target_config(server, max_retries=0, read_strategy="per_user")
    messages = [tk.schema(), tk.event("u1", "new"), tk.event("u1", "old", "exit"), tk.state(1)]
    _assert_nothing_written(server, tk.run_in_process(config, messages))


@FUZZ
@given(body=page_answers(), mirror=st.booleans())
def test_no_write_is_built_on_a_list_page_that_is_not_a_page_of_profiles(
    server: EmulatorServer, body: bytes, mirror: bool
) -> None:
    _reset(server, 200, body, "/2/users")
    if mirror:
        scope = {"stream": "audience", "audiences": ["old", "new", "gone"], "count_field": "n"}
        config = kit.target_config(server, max_retries=0, mirror_streams=[scope])
        rows = [tk.record({"algolia_user_id": "u1", "segments": ["new"], "n": 1})]
    else:
        config = kit.target_config(server, max_retries=0, read_strategy="list_scan")
        rows = [tk.event("u1", "new"), tk.event("u2", "gone", "exit")]
    _assert_nothing_written(server, tk.run_in_process(config, [tk.schema(), *rows, tk.state(1)]))
