"""Each plugin README's settings table is exactly what the installed plugin reports.

The READMEs say their table is generated with ``<plugin> --about --format=markdown``.
Here the table of each README is compared, row for row, with the settings table
of that live output, so a setting added, removed or reworded in the code fails
this test until the table is pasted again.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADER = "| Setting | Required | Default | Description |"


def settings_table(markdown: str) -> list[str]:
    """The lines of the one settings table: its header up to the first non-table line."""
    lines = markdown.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == HEADER]
    assert len(starts) == 1, f"expected one settings table, found {len(starts)}"
    table = []
    for line in lines[starts[0] :]:
        if not line.startswith("|"):
            break
        table.append(line.rstrip())
    return table


@pytest.mark.parametrize("plugin", ["tap-algolia", "target-algolia"])
def test_the_readme_settings_table_is_the_plugins_about_output(plugin: str) -> None:
    exe = Path(sys.executable).parent / plugin
    about = subprocess.run(
        [str(exe), "--about", "--format=markdown"], capture_output=True, text=True, timeout=120
    )
    assert about.returncode == 0, about.stderr
    readme = (ROOT / plugin / "README.md").read_text()
    assert f"Generated with `{plugin} --about --format=markdown`" in readme
    assert settings_table(readme) == settings_table(about.stdout)
