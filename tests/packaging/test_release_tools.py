"""The release helpers in build-support/: the version setter and the import rewriter."""

from __future__ import annotations

import shutil
import typing as t
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
Load = t.Callable[[str], ModuleType]


def test_set_version_changes_exactly_the_version_lines(tmp_path: Path, build_support: Load) -> None:
    tool = build_support("set_version")
    for place, _ in tool.PLACES:
        (tmp_path / place).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / place, tmp_path / place)

    tool.set_version("9.8.7rc1", root=tmp_path)

    # Every released distribution of the repository, and the two constants.
    distributions = {p.parent.name for p in ROOT.glob("*/pyproject.toml")} - set(tool.UNRELEASED)
    assert {place.split("/")[0] for place, _ in tool.PLACES} == distributions
    assert len(tool.PLACES) == len(distributions) + 2
    for place, _ in tool.PLACES:
        before = (ROOT / place).read_text().splitlines()
        after = (tmp_path / place).read_text().splitlines()
        changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert len(changed) == 1, place
        assert changed[0][1].endswith('= "9.8.7rc1"'), changed


def test_set_version_refuses_bad_versions_and_writes_nothing(
    tmp_path: Path, build_support: Load
) -> None:
    tool = build_support("set_version")
    for place, _ in tool.PLACES:
        (tmp_path / place).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / place, tmp_path / place)
    with pytest.raises(ValueError, match=r"not X\.Y\.Z"):
        tool.set_version("v1.2", root=tmp_path)
    (tmp_path / "algolia-emulator/algolia_emulator/__init__.py").write_text("no version\n")
    with pytest.raises(ValueError, match="__version__"):
        tool.set_version("1.2.3", root=tmp_path)
    assert (tmp_path / "tap-algolia/pyproject.toml").read_text() == (
        ROOT / "tap-algolia/pyproject.toml"
    ).read_text()


def test_rewrite_imports_relocates_every_form_it_accepts(build_support: Load) -> None:
    hook = build_support("vendor_algolia_api")
    source = (
        "from algolia_api import A\n"
        "from algolia_api.profiles_client import B\n"
        "if TYPE_CHECKING:\n"
        "    from algolia_api.http import C\n"
        "import algolia_api\n"
        "import algolia_apix\n"
        '"""from algolia_api import D in a docstring line is not at line start."""\n'
    )
    assert hook.rewrite_imports(source, "pkg._vendor.algolia_api") == (
        "from pkg._vendor.algolia_api import A\n"
        "from pkg._vendor.algolia_api.profiles_client import B\n"
        "if TYPE_CHECKING:\n"
        "    from pkg._vendor.algolia_api.http import C\n"
        "from pkg._vendor import algolia_api\n"
        "import algolia_apix\n"
        '"""from algolia_api import D in a docstring line is not at line start."""\n'
    )
    with pytest.raises(ValueError, match="write `from algolia_api import"):
        hook.rewrite_imports("import algolia_api.profiles_client\n", "pkg._vendor.algolia_api")
