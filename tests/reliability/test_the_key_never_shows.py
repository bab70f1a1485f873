"""The API key never shows, whatever its value: a key that cannot be sent
(control characters, not a string, outside Latin-1) is refused in one line that
does not quote it, and a key a server echoes back (in a 403 message or a
multi-line 502 page) appears in no log line, file, ``--about`` or stdout.

Runs the installed ``tap-algolia`` / ``target-algolia`` command against a
hostile server on 127.0.0.1 (``algolia_testkit.hostile``) that echoes the key
it was sent.
"""

from __future__ import annotations

import json
import re
import tempfile
import typing as t
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algolia_testkit import reliability as kit
from algolia_testkit.hostile import Answer, HostileServer, Script
from algolia_testkit.reliability import EMPTY_PAGE, ONE_EVENT


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


#: Hostile key values, each kind that once broke the plugins and a few more. Refused at
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
