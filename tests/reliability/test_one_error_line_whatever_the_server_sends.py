"""Every failure caused by the server's answer is one error line naming Algolia
and the request: a proxy's multi-line HTML page (as an error or as a 200) cannot
forge log lines, and a body cut short is one line too.

The commands run against a server on 127.0.0.1 (``algolia_testkit.hostile``)
that answers with such a page or body, as a proxy in the way would.
"""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

import pytest

from algolia_testkit import reliability as kit
from algolia_testkit.hostile import Answer, HostileServer
from algolia_testkit.reliability import (
    ONE_EVENT,
    PROFILE,
    hostile_tap_config,
    hostile_target_config,
)

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
