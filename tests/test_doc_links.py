"""Every relative link in the project's Markdown pages reaches a file and a heading.

The target's rules live on several pages (target-algolia/README.md and
docs/target/*.md) that link to one another instead of repeating a rule, so a page
moved or a heading renamed must not leave a link pointing nowhere. Each link
``[text](path#anchor)`` outside code blocks is resolved from the page that holds
it: the path must exist, and an anchor must be a heading of that file, spelled as
GitHub spells heading anchors.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def markdown_pages() -> list[Path]:
    """The project's own Markdown files: git's list, or a walk that skips hidden folders."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        return sorted(
            page
            for page in ROOT.rglob("*.md")
            if not any(part.startswith(".") for part in page.relative_to(ROOT).parts)
        )
    return [ROOT / name for name in listed if (ROOT / name).is_file()]


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(page.read_text()):
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = anchor(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def test_anchor_follows_githubs_spelling() -> None:
    assert anchor("The reject bound: `max_rejected_fraction`") == (
        "the-reject-bound-max_rejected_fraction"
    )
    assert anchor("Preflight: `--test`") == "preflight---test"
    assert anchor("Start here, by record form") == "start-here-by-record-form"


@pytest.mark.parametrize("page", markdown_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file_and_a_heading(page: Path) -> None:
    broken = []
    for line in prose_lines(page.read_text()):
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # http:, https:, mailto: ...
            path, _, fragment = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{target}: no such file")
            elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
                broken.append(f"{target}: no heading with that anchor")
    assert not broken, broken
