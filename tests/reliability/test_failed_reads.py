"""A read that is not a profile is a failed read, never the basis of a write (issue 20).

Each case makes the emulator answer one read with something that is not the
requested profile (a body fault: status and bytes as a broken proxy or server
would send them) and runs target-algolia's CLI over real HTTP. The profile
holds another system's segment; whatever the answer, that segment survives,
no PUT is made from the answer, and:

* an answer that lasts fails the run with one line naming the request, no
  traceback and no STATE (as a persistent 5xx does);
* an answer that passes is retried like a 5xx, and the run then delivers.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass

import pytest

from algolia_emulator.faults import BodyFault
from algolia_testkit import reliability as kit
from algolia_testkit import tap_runs
from algolia_testkit import target_runs as tk

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer

M = "meltano"
OTHERS = [("vip", "crm"), ("old", M)]


@dataclass(frozen=True)
class Answer:
    name: str
    status: int
    body: bytes
    headers: dict[str, str] | None = None


def _profile(**fields: t.Any) -> bytes:
    return json.dumps({"userID": "u1", "lastUpdatedAt": tk.STAMP, **fields}).encode()


NOT_A_PROFILE = [
    Answer("204-no-content", 204, b""),
    Answer("301-without-body", 301, b"", {"Location": "https://elsewhere.example/"}),
    Answer("302-with-a-profile-body", 302, _profile(), {"Location": "/2/users/u2"}),
    Answer("200-empty", 200, b""),
    Answer("200-blank", 200, b"  \n"),
    Answer("200-null", 200, b"null"),
    Answer("200-empty-object", 200, b"{}"),
    Answer("200-a-list", 200, b"[]"),
    Answer("200-a-number", 200, b"42"),
    Answer("another-users-profile", 200, _profile(userID="u2", segments=[])),
    Answer("userID-a-number", 200, _profile(userID=1, segments=[])),
    Answer("segments-null", 200, _profile(segments=None)),
    Answer("segments-a-string", 200, _profile(segments="vip")),
    Answer("segments-an-object", 200, _profile(segments={"id": "vip", "source": "crm"})),
    Answer("segments-a-number", 200, _profile(segments=0)),
    Answer("segment-a-string", 200, _profile(segments=["vip"])),
    Answer("segment-without-source", 200, _profile(segments=[{"id": "vip"}])),
    Answer("segment-id-a-number", 200, _profile(segments=[{"id": 7, "source": "crm"}])),
    Answer("segment-id-empty", 200, _profile(segments=[{"id": "", "source": "crm"}])),
    Answer("html-200", 200, b"<html><body>502 Bad Gateway</body></html>"),
    Answer("truncated-json-200", 200, _profile(segments=[])[:-9]),
    Answer(
        "lone-surrogate-escape",
        200,
        _profile(segments=[]).replace(b"[]", b'[{"id": "\\ud800", "source": "crm"}]'),
    ),
    Answer(
        "bytes-not-utf8",
        200,
        _profile(segments=[{"id": "vip-X", "source": "crm"}]).replace(b"X", b"\xff"),
    ),
]


def _serve(emu: EmulatorServer, answer: Answer, *, times: int, path: str = "/2/users/u1") -> None:
    emu.emulator.faults.add_body(
        BodyFault(
            method="GET",
            path=path,
            status=answer.status,
            body=answer.body,
            headers=dict(answer.headers or {}),
            remaining=times,
        )
    )


def _messages() -> list[dict[str, t.Any]]:
    return [tk.schema(), tk.event("u1", "new"), tk.event("u1", "old", "exit"), tk.state(1)]


@pytest.mark.parametrize("answer", NOT_A_PROFILE, ids=[a.name for a in NOT_A_PROFILE])
def test_a_lasting_answer_that_is_not_the_profile_fails_the_run_and_writes_nothing(
    answer: Answer, emu: EmulatorServer, tmp_path: Path
) -> None:
    tk.put_user(emu, "u1", OTHERS)
    _serve(emu, answer, times=100)
    config = kit.target_config(emu, max_retries=1, read_strategy="per_user")
    run = kit.run_target(config, _messages(), tmp_path)

    line = kit.assert_clean_failure(run.returncode, run.stderr, "GET /2/users/u1")
    assert "Algolia answered" in line
    assert run.states_seen == []
    assert emu.admin.stats()["userPuts"] == {}
    assert tk.segments_of(emu, "u1") == OTHERS
    # Retried like a 5xx: two reads (max_retries=1), one retry line.
    assert len(tap_runs.log_lines(run.stderr, "Retrying /2/users/u1")) == 1


TRANSIENT = [
    a
    for a in NOT_A_PROFILE
    if a.name
    in {"204-no-content", "200-null", "segments-a-string", "html-200", "another-users-profile"}
]


@pytest.mark.parametrize("answer", TRANSIENT, ids=[a.name for a in TRANSIENT])
def test_a_passing_answer_that_is_not_the_profile_is_retried_then_delivered(
    answer: Answer, emu: EmulatorServer, tmp_path: Path
) -> None:
    tk.put_user(emu, "u1", OTHERS)
    _serve(emu, answer, times=1)
    config = kit.target_config(emu, max_retries=2, read_strategy="per_user")
    run = kit.run_target(config, _messages(), tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states_seen == [{"bookmark": 1}]
    assert tk.segments_of(emu, "u1") == [("vip", "crm"), ("new", M)]
    assert emu.admin.stats()["userPuts"] == {"u1": 1}
    assert len(tap_runs.log_lines(run.stderr, "Retrying /2/users/u1")) == 1


# List-scan pages ---------------------------------------------------------------------


def _page(*profiles: t.Any, token: str | None = None) -> bytes:
    page: dict[str, t.Any] = {"users": list(profiles)}
    if token is not None:
        page["nextPageToken"] = token
    return json.dumps(page).encode()


def _good(user_id: str, segments: list[tuple[str, str]]) -> dict[str, t.Any]:
    return {
        "userID": user_id,
        "lastUpdatedAt": tk.STAMP,
        "segments": [{"id": s, "source": src} for s, src in segments],
    }


BAD_PAGES = [
    Answer("users-an-object", 200, b'{"users": {"u1": {}}}'),
    Answer("users-null", 200, b'{"users": null}'),
    Answer("profile-a-string", 200, _page("u1")),
    Answer("profile-without-userID", 200, _page({"segments": []})),
    Answer("segments-a-string", 200, _page({**_good("u1", []), "segments": "vip"})),
    Answer("segments-an-object", 200, _page({**_good("u1", []), "segments": {"id": "vip"}})),
    Answer("segments-null", 200, _page({**_good("u1", []), "segments": None})),
    Answer("segment-a-number", 200, _page({**_good("u1", []), "segments": [3]})),
    Answer(
        "lone-surrogate", 200, _page(_good("u1", [("vip", "crm")])).replace(b'"vip"', b'"\\udc80"')
    ),
    Answer("html-200", 200, b"<!doctype html><title>maintenance</title>"),
    Answer("302-with-a-page-body", 302, _page(_good("u1", [])), {"Location": "/x"}),
]


@pytest.mark.parametrize("answer", BAD_PAGES, ids=[a.name for a in BAD_PAGES])
@pytest.mark.parametrize("mode", ["list_scan", "mirror"])
def test_a_lasting_malformed_list_page_fails_the_scan_and_writes_nothing(
    answer: Answer, mode: str, emu: EmulatorServer, tmp_path: Path
) -> None:
    tk.put_user(emu, "u1", OTHERS)
    tk.put_user(emu, "u2", [("gone", M)])
    _serve(emu, answer, times=100, path="/2/users")
    if mode == "mirror":
        config = kit.target_config(
            emu,
            max_retries=1,
            mirror_streams=[{"stream": "audience", "audiences": ["old", "new", "gone"]}],
        )
        messages = [tk.schema(), tk.snapshot("u1", ["new"]), tk.state(1)]
    else:
        config = kit.target_config(emu, max_retries=1, read_strategy="list_scan")
        messages = [tk.schema(), tk.event("u1", "new"), tk.event("u2", "gone", "exit"), tk.state(1)]
    run = kit.run_target(config, messages, tmp_path)

    line = kit.assert_clean_failure(run.returncode, run.stderr, "Algolia answered")
    assert any(
        words in line for words in ("nothing is written", "not the documented JSON", "not a page")
    ), line
    assert run.states_seen == []
    assert emu.admin.stats()["userPuts"] == {}
    assert tk.segments_of(emu, "u1") == OTHERS
    assert tk.segments_of(emu, "u2") == [("gone", M)]


# Page-token cycles (issue 19) ----------------------------------------------------------


CYCLES = {
    "same-token-forever": ["T"] * 50,
    "cycle-of-three": ["A", "B", "C", "A", "B", "C", "A"],
}


def _serve_pages(emu: EmulatorServer, tokens: list[str], users: list[t.Any] | None = None) -> None:
    for index, token in enumerate(tokens):
        listed = (users or []) if index == 0 else []
        _serve(emu, Answer(token, 200, _page(*listed, token=token)), times=1, path="/2/users")


@pytest.mark.parametrize("cycle", list(CYCLES), ids=list(CYCLES))
@pytest.mark.parametrize("mode", ["list_scan", "mirror"])
def test_a_repeating_page_token_ends_the_target_scan_with_one_line(
    cycle: str, mode: str, emu: EmulatorServer, tmp_path: Path
) -> None:
    tk.put_user(emu, "u1", OTHERS)
    tk.put_user(emu, "u9", [("gone", M)])
    _serve_pages(emu, CYCLES[cycle])
    if mode == "mirror":
        config = kit.target_config(
            emu, mirror_streams=[{"stream": "audience", "audiences": ["old", "new", "gone"]}]
        )
        messages = [tk.schema(), tk.snapshot("u1", ["new"]), tk.state(1)]
    else:
        config = kit.target_config(emu, read_strategy="list_scan")
        messages = [tk.schema(), tk.event("u1", "new"), tk.state(1)]
    run = kit.run_target(config, messages, tmp_path)

    line = kit.assert_clean_failure(run.returncode, run.stderr, "a second time")
    assert "page token" in line
    assert run.states_seen == []
    assert emu.admin.stats()["userPuts"] == {}
    assert tk.segments_of(emu, "u9") == [("gone", M)]
    distinct = len(set(CYCLES[cycle]))
    assert emu.admin.stats()["byRoute"]["GET /2/users"] == distinct + 1


@pytest.mark.parametrize("cycle", list(CYCLES), ids=list(CYCLES))
def test_a_repeating_page_token_ends_the_tap_sync_with_one_line_and_no_bookmark(
    cycle: str, emu: EmulatorServer, tmp_path: Path
) -> None:
    emu.admin.upsert_user({**_good("a", []), "lastUpdatedAt": "2026-11-02T10:00:00Z"})
    _serve_pages(emu, CYCLES[cycle], users=[_good("a", [])])
    state = kit.bookmark_state("2026-11-01T00:00:00.000000Z")
    run = kit.run_tap(kit.tap_config(emu), tmp_path, state=state)

    line = kit.assert_clean_failure(run.returncode, run.stderr, "a second time")
    assert "page token" in line
    assert all(b == "2026-11-01T00:00:00.000000Z" for b in kit.tap_bookmarks(run))
    assert emu.admin.stats()["byRoute"]["GET /2/users"] == len(set(CYCLES[cycle])) + 1


# A scan is a set (issue 19) --------------------------------------------------------------


def test_a_profile_listed_twice_is_read_and_written_once(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    for uid in ("u1", "u2", "u3"):
        tk.put_user(emu, uid, [("vip", "crm")])
    same = [("vip", "crm")]
    _serve(
        emu,
        Answer("p1", 200, _page(_good("u1", same), _good("u2", same), token="p2")),
        times=1,
        path="/2/users",
    )
    _serve(
        emu,
        Answer("p2", 200, _page(_good("u2", same), _good("u2", same), _good("u3", same))),
        times=1,
        path="/2/users",
    )
    config = kit.target_config(emu, read_strategy="list_scan")
    messages = [tk.schema(), *(tk.event(u, "new") for u in ("u1", "u2", "u3")), tk.state(1)]
    run = kit.run_target(config, messages, tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    assert emu.admin.stats()["userPuts"] == {"u1": 1, "u2": 1, "u3": 1}
    assert emu.admin.stats()["userGets"] == {}
    for uid in ("u1", "u2", "u3"):
        assert tk.segments_of(emu, uid) == [("vip", "crm"), ("new", M)]
    summary = tap_runs.log_lines(run.stderr, "writes=3")
    assert summary, run.stderr[-2000:]
    assert "users=3" in summary[-1]
