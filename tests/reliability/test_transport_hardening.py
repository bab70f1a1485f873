"""Issue 20, transport part: bounded requests and waits, settings that cannot
overflow, one-line errors, and a key that never shows, whatever its value.

Every case runs the installed ``tap-algolia`` / ``target-algolia`` command
against a real server on 127.0.0.1: the emulator, or a hostile server
(``algolia_testkit.hostile``) that drips its answers, sends odd rate-limit
headers, multi-line pages, or echoes the key it was sent.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import typing as t
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algolia_testkit import reliability as kit
from algolia_testkit import target_runs as tk
from algolia_testkit.hostile import Answer, HostileServer

if t.TYPE_CHECKING:
    from algolia_emulator import EmulatorServer

EMPTY_PAGE = json.dumps({"users": [], "nextPageToken": None}).encode()
PROFILE = json.dumps(
    {"userID": "u1", "lastUpdatedAt": "2026-10-01T00:00:00Z", "segments": []}
).encode()


def hostile_tap_config(server: HostileServer, **extra: t.Any) -> dict[str, t.Any]:
    return {"app_id": "APP", "api_key": kit.SECRET, "api_url": server.url, **extra}


def hostile_target_config(server: HostileServer, **extra: t.Any) -> dict[str, t.Any]:
    return {
        "app_id": "APP",
        "api_key": kit.SECRET,
        "api_url": server.url,
        "summary_interval_seconds": 0,
        "max_requests_per_minute": 100_000,
        **extra,
    }


ONE_EVENT = [tk.schema(), tk.event("u1", "vip")]


# 1. request_timeout bounds the whole request ---------------------------------------------


@pytest.mark.parametrize("drip_headers", [False, True], ids=["body dripped", "headers dripped"])
@pytest.mark.parametrize("plugin", ["tap", "target"])
def test_a_dripped_answer_cannot_outlast_request_timeout(
    plugin: str, drip_headers: bool, tmp_path: Path
) -> None:
    # 2,000 bytes at 1 byte per 0.1 s: 200 s per answer, each read well within 1 s.
    body = (EMPTY_PAGE if plugin == "tap" else PROFILE) + b" " * 2000
    answer = Answer(body=body, drip_bytes=1, drip_seconds=0.1, drip_headers=drip_headers)
    with HostileServer(lambda *_: answer) as server:
        if plugin == "tap":
            run = kit.run_tap(
                hostile_tap_config(server, request_timeout=1, max_retries=1), tmp_path
            )
        else:
            config = hostile_target_config(server, request_timeout=1, max_retries=1)
            run = kit.run_target(config, ONE_EVENT, tmp_path)
        calls = len(server.seen)
    elapsed = run.ended - run.started
    path = "/2/users" if plugin == "tap" else "/2/users/u1"
    kit.assert_clean_failure(
        run.returncode, run.stderr, "Algolia did not answer in time after all retries", path
    )
    assert calls == 2  # the first try and one retry, each cut at 1 s
    # Two requests of 1 s, one backoff of at most 0.5 s, and the CLI's start-up.
    assert elapsed < 12, elapsed
    assert "Retrying" in run.stderr


def test_a_slow_but_steady_answer_within_the_timeout_is_read(tmp_path: Path) -> None:
    answer = Answer(body=EMPTY_PAGE, drip_bytes=8, drip_seconds=0.05)  # about 0.25 s in all
    with HostileServer(lambda *_: answer) as server:
        run = kit.run_tap(hostile_tap_config(server, request_timeout=3, max_retries=0), tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [m["type"] for m in run.messages].count("STATE") >= 1


# 2. No rate-limit header can make the pacer spin or wait unlogged ---------------------------

ODD_RESETS = ["NaN", "nan", "inf", "-inf", "Infinity", "1e999", "garbage", "", "-5"]


@pytest.mark.parametrize("reset", ODD_RESETS)
def test_odd_rate_limit_headers_neither_spin_nor_stall_the_tap(reset: str, tmp_path: Path) -> None:
    """Window used up (remaining 0), with a reset that is not a usable number.

    Before: a reset of NaN made every request wait NaN seconds, that is spin
    at 100% CPU for ever. Now the headers are ignored (or, for a past reset,
    the window is over), and five pages are read at once.
    """
    pages = iter(range(1, 100))

    def script(*_: t.Any) -> Answer:
        page = next(pages)
        token = f"p{page}" if page < 5 else None
        body = json.dumps({"users": [], "nextPageToken": token}).encode()
        headers = {
            "x-ratelimit-limit": "1",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": reset,
        }
        return Answer(body=body, headers=headers)

    with HostileServer(script) as server:
        run = kit.run_tap(hostile_tap_config(server, max_retries=0), tmp_path, timeout=30)
        calls = len(server.seen)
    assert run.returncode == 0, run.stderr[-2000:]
    assert calls == 5
    assert run.ended - run.started < 15


@pytest.mark.parametrize(
    ("limit", "remaining"), [("0", "0"), ("-3", "-3"), ("nan", "1"), ("5", "-99"), ("5", "1e9")]
)
def test_odd_limit_and_remaining_values_neither_spin_nor_stall(
    limit: str, remaining: str, tmp_path: Path
) -> None:
    pages = iter(range(1, 100))

    def script(*_: t.Any) -> Answer:
        page = next(pages)
        body = json.dumps({"users": [], "nextPageToken": f"p{page}" if page < 4 else None})
        reset = str(int(time.time()) + 1)
        headers = {"x-ratelimit-limit": limit, "x-ratelimit-remaining": remaining}
        return Answer(body=body.encode(), headers={**headers, "x-ratelimit-reset": reset})

    with HostileServer(script) as server:
        run = kit.run_tap(hostile_tap_config(server, max_retries=0), tmp_path, timeout=30)
        calls = len(server.seen)
    assert run.returncode == 0, run.stderr[-2000:]
    assert calls == 4
    # A clamped "remaining 0" window waits for its reset, 1 s away, at most once per page.
    assert run.ended - run.started < 15


def _rate_limited_then_ok(retry_after: t.Callable[[], str], ok_body: bytes) -> Script:
    calls = {"n": 0}

    def script(*_: t.Any) -> Answer:
        calls["n"] += 1
        if calls["n"] == 1:
            now = datetime.now(timezone.utc).replace(microsecond=0)
            return Answer(
                status=429,
                body=b'{"message": "Too many requests"}',
                headers={"Retry-After": retry_after(), "Date": format_datetime(now, usegmt=True)},
            )
        return Answer(body=ok_body)

    return script


Script = t.Callable[[str, str, dict[str, str]], Answer]


def _in_two_seconds() -> str:
    moment = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    return format_datetime(moment, usegmt=True)


@pytest.mark.parametrize(
    "retry_after", [_in_two_seconds, lambda: "2"], ids=["HTTP date", "delta seconds"]
)
@pytest.mark.parametrize("plugin", ["tap", "target"])
def test_retry_after_is_honoured_in_both_http_forms(
    plugin: str, retry_after: t.Callable[[], str], tmp_path: Path
) -> None:
    """Before: an HTTP date was ignored, so the retry came 0.25 to 0.5 s later."""
    body = EMPTY_PAGE if plugin == "tap" else PROFILE
    with HostileServer(_rate_limited_then_ok(retry_after, body)) as server:
        if plugin == "tap":
            run = kit.run_tap(hostile_tap_config(server, max_retries=1), tmp_path)
        else:
            # dry_run: the read is what is retried; no PUT to answer.
            config = hostile_target_config(server, max_retries=1, dry_run=True)
            run = kit.run_target(config, ONE_EVENT, tmp_path)
        seen = list(server.seen)
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(seen) >= 2
    gap = seen[1].at - seen[0].at
    # A date is whole seconds: "3 s after Date" is 2 to 3 s after the answer left.
    assert gap >= 1.9, gap
    assert gap < 4.5, gap
    assert re.search(r"Retrying \S+ in [23]\.\d+s", run.stderr), run.stderr[-2000:]


# 3. Settings and bookmarks that could overflow ------------------------------------------------

TAP_OVERFLOWS: dict[str, tuple[dict[str, t.Any], dict[str, t.Any] | None, str]] = {
    # name: (config, state, what the one line names)
    "start_date year 1": ({"start_date": "0001-01-01T00:00:00Z"}, None, "start_date"),
    "start_date a date in year 1": ({"start_date": "0001-01-01"}, None, "start_date"),
    "start_date before 1970": ({"start_date": "1969-12-31T23:59:59Z"}, None, "1970-01-01"),
    "start_date year 9999 behind UTC": (
        {"start_date": "9999-12-31T23:59:59-05:00"},
        None,
        "start_date",
    ),
    "bookmark year 1": ({}, kit.bookmark_state("0001-01-01T00:00:00.000000Z"), "bookmark"),
    "bookmark year 1000": ({}, kit.bookmark_state("1000-01-01T00:00:00Z"), "1970-01-01"),
    "bookmark year 9999 behind UTC": (
        {},
        kit.bookmark_state("9999-12-31T23:59:59-05:00"),
        "bookmark",
    ),
    "overlap_seconds 10**12": ({"overlap_seconds": 10**12}, None, "overlap_seconds"),
    "overlap_seconds 10**30": ({"overlap_seconds": 10**30}, None, "overlap_seconds"),
    "max_requests_per_minute 10**400": (
        {"max_requests_per_minute": 10**400},
        None,
        "max_requests_per_minute",
    ),
    "request_timeout 10**20": ({"request_timeout": 10**20}, None, "request_timeout"),
    "max_retries 10**6": ({"max_retries": 10**6}, None, "max_retries"),
}


@pytest.mark.parametrize("name", list(TAP_OVERFLOWS))
def test_a_tap_setting_or_bookmark_that_would_overflow_is_one_line_before_any_call(
    name: str, make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    overrides, state, named = TAP_OVERFLOWS[name]
    server = make_server(users=3)
    config = {**kit.tap_config(server), **overrides}
    if state is not None:
        # A bookmark in an absurd year, with an overlap that reaches before year 1.
        config["overlap_seconds"] = 300
    run = kit.run_tap(config, tmp_path, state=state)
    line = kit.assert_clean_failure(run.returncode, run.stderr, named)
    assert len(line) < 600, line
    assert server.admin.stats()["byRoute"] == {}


def test_a_tap_window_reaching_before_1970_is_cut_there(
    make_server: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    """start_date 1970-01-01 with 30 days of overlap: the query starts at the epoch."""
    server = make_server(users=4)
    config = {
        **kit.tap_config(server),
        "start_date": "1970-01-01",
        "overlap_seconds": 30 * 24 * 3600,
    }
    run = kit.run_tap(config, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Reading users updated from 1970-01-01T00:00:00Z" in run.stderr
    assert len([m for m in run.messages if m["type"] == "RECORD"]) == 4


TARGET_OVERFLOWS: dict[str, tuple[dict[str, t.Any], str]] = {
    "max_wait_seconds 1e300": ({"max_wait_seconds": 1e300}, "max_wait_seconds"),
    "max_wait_seconds 10**10": ({"max_wait_seconds": 10**10}, "max_wait_seconds"),
    "max_requests_per_minute 10**400": (
        {"max_requests_per_minute": 10**400},
        "max_requests_per_minute",
    ),
    "concurrency 10**6": ({"concurrency": 10**6}, "concurrency"),
    "summary_interval_seconds 10**12": (
        {"summary_interval_seconds": 10**12},
        "summary_interval_seconds",
    ),
    "request_timeout 10**20": ({"request_timeout": 10**20}, "request_timeout"),
    "max_retries 10**6": ({"max_retries": 10**6}, "max_retries"),
}


@pytest.mark.parametrize("name", list(TARGET_OVERFLOWS))
def test_a_target_setting_that_would_overflow_is_one_line_before_any_call(
    name: str, emu: EmulatorServer, tmp_path: Path
) -> None:
    overrides, named = TARGET_OVERFLOWS[name]
    tk.put_user(emu, "u1", [])
    run = kit.run_target({**kit.target_config(emu), **overrides}, ONE_EVENT, tmp_path)
    line = kit.assert_clean_failure(run.returncode, run.stderr, named, "maximum")
    assert len(line) < 600, line
    assert emu.admin.stats()["byRoute"] == {}


def test_a_huge_max_wait_seconds_on_a_quiet_input_no_longer_crashes(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """The largest allowed bound (a day) while the input pauses: the record waits, no crash."""
    tk.put_user(emu, "u1", [])
    config = {**kit.target_config(emu), "max_wait_seconds": 86_400}
    with tk.spawn_cli(config, tmp_path, config_name="target-config.json") as proc:
        assert proc.stdin is not None
        proc.stdin.write(tk.to_lines(ONE_EVENT))
        proc.stdin.flush()
        time.sleep(1.5)  # the input pauses with a record pending
        assert proc.poll() is None
        out, err = proc.communicate("", timeout=30)
    kit.capture(out, err)
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    assert tk.segments_of(emu, "u1") == [("vip", "meltano")]


# 4. The key never appears, whatever its value ---------------------------------------------------


def _echoing_server(status: int) -> Script:
    """Answers every request with the key it was sent, in a message and a multi-line page."""

    def script(method: str, path: str, headers: dict[str, str]) -> Answer:
        key = headers.get("x-algolia-api-key", "")
        if status == 403:
            message = f"Invalid API key {key!r} for this application\n{key}"
            return Answer(status=403, body=json.dumps({"message": message}).encode())
        page = f"<html>\n<body>\nBad gateway for key={key}\n{key}\n</body>\n</html>\n"
        return Answer(status=502, body=page.encode("latin-1"))

    return script


_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


def _key_leaks(key: t.Any, text: str, neutral: str = "") -> list[str]:
    """Where ``key`` shows in ``text``: anywhere if 4+ characters, else as a whole word.

    A 1- to 3-character key is in ordinary text (``0`` in ``v0.1.0``): for it,
    a line counts only if the same line (timestamp aside) is not also printed
    with a neutral key.
    """
    forms = {str(key).strip(), repr(key)} if not isinstance(key, str) else {key.strip(), repr(key)}
    usual = {_STAMP.sub("", line) for line in neutral.splitlines()}
    leaks = []
    for form in forms:
        if not form:
            continue
        if len(form) >= 4:
            if form in text:
                leaks.append(form)
            continue
        word = re.compile(rf"(?<![0-9A-Za-z]){re.escape(form)}(?![0-9A-Za-z])")
        leaks += [
            line
            for line in text.splitlines()
            if word.search(line) and _STAMP.sub("", line) not in usual
        ]
    return leaks


def _outputs(key: t.Any, server: HostileServer, workdir: Path) -> tuple[list[str], str]:
    """What the plugins print with ``key``: (key-independent parts, everything else).

    ``--about`` and the tap's stdout (its SCHEMA) must not depend on the key at
    all: they are compared with the same output for a neutral key, since a
    1-character key such as ``0`` is in any text. The logs and files written
    are searched for the key itself.
    """
    config = {"app_id": "APP", "api_key": key, "api_url": server.url, "max_retries": 0}
    fixed: list[str] = []
    searched: list[str] = []
    about = kit.run_tap(config, workdir, "--about", "--format=json")
    fixed.append(about.stdout)
    searched.append(about.stderr)
    tap = kit.run_tap(config, workdir)
    # A key refused at start-up: nothing on stdout; one sent: the same SCHEMA.
    fixed.append(tap.stdout or "<refused before the sync>")
    searched.append(tap.stderr)
    target = kit.run_target(
        {**config, "summary_interval_seconds": 0}, ONE_EVENT, workdir, timeout=30
    )
    searched += [target.stdout, target.stderr]
    for path in workdir.rglob("*"):
        if path.is_file() and not path.name.endswith("config.json") and path.suffix != ".txt":
            searched.append(path.read_text(errors="replace"))
    return fixed, "\n".join(searched)


_NEUTRAL: dict[int, tuple[list[str], str]] = {}


def _neutral(status: int) -> tuple[list[str], str]:
    """The outputs for a plain key, once per status."""
    if status not in _NEUTRAL:
        with (
            tempfile.TemporaryDirectory() as workdir,
            HostileServer(_echoing_server(status)) as server,
        ):
            _NEUTRAL[status] = _outputs("neutral-key-0000", server, Path(workdir))
    return _NEUTRAL[status]


def _assert_key_never_shows(key: t.Any, status: int, workdir: Path) -> None:
    with HostileServer(_echoing_server(status)) as server:
        fixed, searched = _outputs(key, server, workdir)
    assert "Traceback" not in searched, searched[-3000:]
    neutral_fixed, neutral_searched = _neutral(status)
    assert fixed[:-1] == neutral_fixed[:-1]  # --about
    assert fixed[-1] in (neutral_fixed[-1], "<refused before the sync>")
    leaks = _key_leaks(key, searched, neutral_searched)
    assert not leaks, (leaks, searched[-3000:])


#: Hostile key values, each kind the issue found and a few more. Refused at
#: start-up (never sent, so the server's answer does not matter):
REFUSED_KEYS: list[t.Any] = [
    "rk-line\nbreak-9f2",
    "rk-crlf\r\nx-injected: 1",
    "rk-tab\there-77",
    "rk-nul\x00-end1",
    "rk-ünï-cødé-€42",  # € is outside Latin-1
    1234567,
    ["rk-in-a-list-51"],
    {"key": "rk-in-an-object-52"},
    True,
    12.5,
]
#: Sent, and echoed back by the server in a 403 message or a 502 page:
SENT_KEYS = ["ab", "q", "k3y", "  rk-padded-53  ", "rk-latin1-é-54"]


@pytest.mark.parametrize("key", REFUSED_KEYS, ids=repr)
def test_a_key_that_cannot_be_sent_never_shows(key: t.Any, tmp_path: Path) -> None:
    _assert_key_never_shows(key, 403, tmp_path)


@pytest.mark.parametrize("status", [403, 502])
@pytest.mark.parametrize("key", SENT_KEYS, ids=repr)
def test_a_key_never_shows_even_when_the_server_echoes_it(
    key: t.Any, status: int, tmp_path: Path
) -> None:
    _assert_key_never_shows(key, status, tmp_path)


KEY_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",))
HOSTILE_KEY_VALUES = st.one_of(
    st.text(KEY_CHARS, min_size=1, max_size=24),
    st.text(st.sampled_from("ab\n\r\t\x00\x7f\u2028é€ -%{}'\""), min_size=1, max_size=8),
    st.text(st.sampled_from("abcXYZ019"), min_size=1, max_size=3),
    st.integers(),
    st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=2),
    st.dictionaries(st.text(min_size=1, max_size=4), st.text(max_size=6), min_size=1, max_size=2),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(key=HOSTILE_KEY_VALUES, status=st.sampled_from([403, 502]))
def test_no_generated_key_ever_shows_in_any_output(key: t.Any, status: int) -> None:
    if isinstance(key, str) and not key.strip():
        key = key + "x"
    with tempfile.TemporaryDirectory() as workdir:
        _assert_key_never_shows(key, status, Path(workdir))


@pytest.mark.parametrize("plugin", ["tap", "target"])
@pytest.mark.parametrize(
    "key", ["rk-ünï-cødé-€42", "ключ-55", "鍵-56"], ids=["euro", "cyrillic", "cjk"]
)
def test_a_key_outside_latin_1_is_one_clear_line_in_both_plugins(
    plugin: str, key: str, tmp_path: Path
) -> None:
    with HostileServer(lambda *_: Answer(body=EMPTY_PAGE)) as server:
        config = {"app_id": "APP", "api_key": key, "api_url": server.url}
        if plugin == "tap":
            run = kit.run_tap(config, tmp_path)
        else:
            run = kit.run_target(config, ONE_EVENT, tmp_path)
        calls = len(server.seen)
    line = kit.assert_clean_failure(run.returncode, run.stderr, "api_key", "Latin-1")
    assert key not in run.stdout + run.stderr
    assert "not shown" in line
    assert calls == 0


# 5. Every error is one line; bodies cannot forge log lines -----------------------------------

FORGED = "2026-12-02 10:00:00,000 | ERROR    | tap-algolia | forged line"
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \| [A-Z]+ +\| \S+ +\| ")
LEVEL_ERROR = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \| ERROR +\| ")
PROXY_PAGE = (
    "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
    f"{FORGED}\n\u2028also forged\r\n<p>nginx</p>\n</body>\n</html>\n"
)


@pytest.mark.parametrize("status", [502, 200])
@pytest.mark.parametrize("plugin", ["tap", "target"])
def test_a_multi_line_page_is_one_error_line_naming_algolia_and_the_request(
    plugin: str, status: int, tmp_path: Path
) -> None:
    """A proxy's HTML page, as an error status or as a 200 in place of the JSON."""
    answer = Answer(status=status, body=PROXY_PAGE.encode(), headers={"Content-Type": "text/html"})
    with HostileServer(lambda *_: answer) as server:
        if plugin == "tap":
            run = kit.run_tap(hostile_tap_config(server, max_retries=1), tmp_path)
        else:
            config = hostile_target_config(server, max_retries=1)
            run = kit.run_target(config, ONE_EVENT, tmp_path)
    path = "/2/users" if plugin == "tap" else "/2/users/u1"
    expected = f"{status} from Algolia on GET {path}" if status != 200 else "Algolia answered 200"
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    # The level column, not the text: the page's forged "| ERROR |" sits inside
    # the retry warning's line, where it forges nothing.
    lines = run.stderr.splitlines()
    errors = [text for text in lines if LEVEL_ERROR.match(text)]
    assert len(errors) == 1, errors
    assert expected in errors[0]
    assert f"GET {path}" in errors[0]
    assert "<title>502 Bad Gateway</title>" in errors[0]  # the body, shortened, on its line
    # Every line the plugin wrote is one of its own log lines.
    assert all(LOG_LINE.match(text) for text in lines if text.strip()), lines
    assert kit.SECRET not in run.stderr


def test_a_body_cut_short_is_one_line_naming_algolia_and_the_request(tmp_path: Path) -> None:
    """Content-Length promises more than is sent, then the connection closes."""

    def script(*_: t.Any) -> Answer:
        return Answer(body=PROFILE[:20], headers={"Content-Length": str(len(PROFILE))})

    with HostileServer(script) as server:
        run = kit.run_target(hostile_target_config(server, max_retries=1), ONE_EVENT, tmp_path)
    kit.assert_clean_failure(run.returncode, run.stderr, "Algolia", "GET /2/users/u1")


# 6. *.localhost is loopback only if it resolves to loopback --------------------------------------


@pytest.mark.parametrize("plugin", ["tap", "target"])
def test_a_localhost_name_that_does_not_resolve_to_loopback_is_refused(
    plugin: str, tmp_path: Path
) -> None:
    import socket

    host = "no-such-name-c20.localhost"
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        resolved = set()
    if resolved and all(a.startswith("127.") or a == "::1" for a in resolved):
        pytest.skip(f"this host's resolver maps {host} to loopback ({resolved})")
    config = {"app_id": "APP", "api_key": kit.SECRET, "api_url": f"http://{host}:9"}
    if plugin == "tap":
        run = kit.run_tap(config, tmp_path)
    else:
        run = kit.run_target(config, ONE_EVENT, tmp_path)
    kit.assert_clean_failure(
        run.returncode, run.stderr, "plain http", "resolves only to loopback addresses"
    )
