"""Every distribution builds into a release-ready sdist and wheel.

Built here exactly as for a release (docs/release.md): ``python -m build`` makes
the sdist, then the wheel *from the sdist*, so a file missing from the sdist
breaks the wheel. Then, for every distribution:

- ``twine check --strict``: the metadata and the README render on PyPI;
- the wheel holds the package and its dist-info and nothing else; the sdist the
  package, README, pyproject.toml and PKG-INFO (plus, for a plugin, its build hook
  and the shared package's source); no tests, caches or stray files in either;
- one version across all of them, including the versions repeated in code;
- each plugin wheel carries its own complete copy of ``algolia_api`` under
  ``<plugin>._vendor`` and no module still imports the top-level name, and it
  declares every requirement of that copy (it does not need singer-algolia-api).
"""

from __future__ import annotations

import ast
import email.parser
import re
import subprocess
import sys
import tarfile
import typing as t
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "algolia-api": ("singer-algolia-api", "algolia_api"),
    "algolia-emulator": ("algolia-emulator", "algolia_emulator"),
    "tap-algolia": ("tap-algolia", "tap_algolia"),
    "target-algolia": ("target-algolia", "target_algolia"),
    "algolia-dagster": ("algolia-dagster", "algolia_dagster"),
}
PLUGINS = ("tap-algolia", "target-algolia")
SHARED_SOURCE = ROOT / "algolia-api" / "algolia_api"

pytestmark = [pytest.mark.slow]


def artifacts(dist: Path, directory: str) -> tuple[Path, Path]:
    stem = PACKAGES[directory][0].replace("-", "_")
    (wheel,) = dist.glob(f"{stem}-*-py3-none-any.whl")
    (sdist,) = dist.glob(f"{stem}-*.tar.gz")
    return wheel, sdist


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(zf.read(name).decode())


def requirement_names(metadata: email.message.Message) -> set[str]:
    return {
        re.split(r"[\s\[<>=!~;(]", r, maxsplit=1)[0].lower().replace("_", "-")
        for r in metadata.get_all("Requires-Dist") or []
        if "extra ==" not in r
    }


def test_every_distribution_is_checked(
    build_support: t.Callable[[str], ModuleType], released: tuple[str, ...]
) -> None:
    """A new distribution in the repository must join these checks (and set_version),
    unless set_version lists it as never released."""
    unreleased = set(build_support("set_version").UNRELEASED)
    assert set(PACKAGES) == set(released)
    assert {p.parent.name for p in ROOT.glob("*/pyproject.toml")} == set(PACKAGES) | unreleased
    assert not unreleased & set(PACKAGES)


def test_twine_check_strict(dist: Path) -> None:
    files = sorted(str(p) for p in dist.iterdir())
    assert len(files) == 2 * len(PACKAGES)
    out = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("PASSED") == len(files), out.stdout


@pytest.mark.parametrize("directory", sorted(PACKAGES))
def test_contents_are_the_package_only(dist: Path, directory: str) -> None:
    _, package = PACKAGES[directory]
    wheel, sdist = artifacts(dist, directory)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    assert {n.split("/")[0] for n in names} == {
        package,
        wheel.name.rsplit("-", 3)[0] + ".dist-info",
    }
    source_modules = {
        p.relative_to(ROOT / directory).as_posix()
        for p in (ROOT / directory / package).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert source_modules <= set(names), "a source file of the package is missing"

    with tarfile.open(sdist) as tf:
        members = [m.name.split("/", 1)[1] for m in tf.getmembers() if m.isfile()]
        assert not [m for m in tf.getmembers() if m.issym() or m.islnk()], "links in sdist"
    allowed_top = {package, "README.md", "pyproject.toml", "PKG-INFO", ".gitignore"}
    if directory in PLUGINS:
        allowed_top |= {"hatch_build.py", "vendor"}
    if directory == "algolia-dagster":
        allowed_top.add("dagster.yaml")  # the instance settings docs/dagster.md copies
    assert {m.split("/")[0] for m in members} <= allowed_top, sorted(members)
    assert {m for m in members if m.startswith(package + "/")} == source_modules

    for name in [*names, *members]:
        parts = name.split("/")
        assert "tests" not in parts, name
        assert "__pycache__" not in parts, name
        assert not name.endswith((".pyc", ".orig", ".rej", "~", ".log")), name
        assert not re.search(r"(^|/)(test_|conftest)[^/]*\.py$", name), name


def test_one_version_everywhere(dist: Path) -> None:
    versions = {d: wheel_metadata(artifacts(dist, d)[0])["Version"] for d in PACKAGES}
    assert len(set(versions.values())) == 1, versions
    (version,) = set(versions.values())
    for directory in PACKAGES:
        wheel, sdist = artifacts(dist, directory)
        assert sdist.name == f"{wheel.name.split('-')[0]}-{version}.tar.gz"
    repeated = {
        "tap_algolia/_vendor/algolia_api/http.py": ("tap-algolia", "CONTRACT_VERSION"),
        "algolia_emulator/__init__.py": ("algolia-emulator", "__version__"),
    }
    for member, (directory, constant) in repeated.items():
        with zipfile.ZipFile(artifacts(dist, directory)[0]) as zf:
            text = zf.read(member).decode()
        assert re.search(rf'^{constant} = "{re.escape(version)}"$', text, re.M), member


@pytest.mark.parametrize("directory", PLUGINS)
def test_plugin_wheel_carries_its_own_algolia_api(dist: Path, directory: str) -> None:
    _, package = PACKAGES[directory]
    wheel, _ = artifacts(dist, directory)
    vendored = f"{package}/_vendor/algolia_api/"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        shared = {p.relative_to(SHARED_SOURCE).as_posix() for p in SHARED_SOURCE.rglob("*.py")}
        assert {vendored + m for m in shared} <= names
        assert f"{package}/_vendor/__init__.py" in names
        for name in sorted(n for n in names if n.endswith(".py")):
            tree = ast.parse(zf.read(name).decode(), filename=name)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    top = node.module.split(".")[0]
                elif isinstance(node, ast.Import):
                    top = node.names[0].name.split(".")[0]
                else:
                    continue
                assert top != "algolia_api", f"{name}:{node.lineno} imports algolia_api"

    plugin = wheel_metadata(wheel)
    shared_requirements = requirement_names(wheel_metadata(artifacts(dist, "algolia-api")[0]))
    assert "singer-algolia-api" not in requirement_names(plugin)
    assert shared_requirements <= requirement_names(plugin)
    assert plugin["Requires-Python"] == ">=3.10"
