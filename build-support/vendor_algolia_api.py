"""Hatch build hook: each plugin's wheel carries its own copy of ``algolia_api``.

Rule: the API contract has one source, ``algolia-api/algolia_api``. A plugin's
wheel (and sdist) ships a build-time copy of it under the plugin's own package,
``<plugin>/_vendor/algolia_api``, and the ``algolia_api`` imports of both the
plugin and the copy are rewritten to point there. So:

- a plugin installs from one requirement (a git URL with ``#subdirectory=``, a
  wheel, or a package index) with no ``singer-algolia-api`` to resolve;
- tap-algolia and target-algolia install side by side without sharing a single
  file (each owns its copy; uninstalling one never breaks the other, and two
  releases of different versions cannot overwrite each other's contract);
- editable installs (development) are left alone: they import the one
  ``algolia_api`` that ``pip install -e ./algolia-api`` provides.

Where the source comes from: ``../algolia-api/algolia_api`` in this repository
(a git checkout or a pip git-URL clone), else ``vendor/algolia_api`` inside an
unpacked sdist, which this hook put there when it built the sdist.

docs/packaging.md explains why this and not a published shared package.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SHARED = "algolia_api"
SDIST_DIR = "vendor"  # where an sdist keeps the shared package's source

# `from algolia_api[.x] import ...` and `import algolia_api` at any indentation.
_FROM = re.compile(rf"^(?P<indent>[ \t]*)from[ \t]+{SHARED}(?P<rest>[.\w]*)[ \t]+import\b", re.M)
_IMPORT = re.compile(rf"^(?P<indent>[ \t]*)import[ \t]+{SHARED}\b(?P<rest>.*)$", re.M)


def rewrite_imports(text: str, target: str) -> str:
    """Point every ``algolia_api`` import of a module at ``target`` (a dotted package)."""
    text = _FROM.sub(lambda m: f"{m['indent']}from {target}{m['rest']} import", text)

    def plain(m: re.Match[str]) -> str:
        if m["rest"].strip():
            raise ValueError(
                f"cannot relocate `import {SHARED}{m['rest']}`: write `from {SHARED} import ...`"
            )
        parent, _, name = target.rpartition(".")
        return f"{m['indent']}from {parent} import {name}"

    return _IMPORT.sub(plain, text)


class VendorAlgoliaAPIHook(BuildHookInterface):
    """Options (``[tool.hatch.build.hooks.custom]``): ``package`` = the plugin's import name."""

    PLUGIN_NAME = "custom"

    def _source(self) -> Path:
        root = Path(self.root)
        for candidate in (root / SDIST_DIR / SHARED, root.parent / "algolia-api" / SHARED):
            if (candidate / "__init__.py").is_file():
                return candidate
        raise RuntimeError(
            f"{SHARED} not found in {root / SDIST_DIR} or {root.parent / 'algolia-api'}: "
            "build the plugin from a checkout of the whole repository or from its sdist"
        )

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "editable":
            return  # development: the editable algolia-api provides the package
        source = self._source()
        if self.target_name == "sdist":
            forced_sdist: dict[str, str] = build_data["force_include"]
            # The plugin's hatch_build.py is a symlink to this file: ship the file itself.
            for src, dest in list(forced_sdist.items()):
                if dest == "hatch_build.py":
                    del forced_sdist[src]
            forced_sdist[str(Path(__file__).resolve())] = "hatch_build.py"
            if source.parent.name != SDIST_DIR:
                forced_sdist[str(source)] = f"{SDIST_DIR}/{SHARED}"
            return
        package: str = self.config["package"]
        target = f"{package}._vendor.{SHARED}"
        self._staging = Path(tempfile.mkdtemp(prefix=f"{package}-vendor-"))
        forced: dict[str, str] = build_data["force_include"]
        # The shared package, relocated.
        for path in sorted(source.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            relative = path.relative_to(source).as_posix()
            forced[self._stage(path, target)] = f"{package}/_vendor/{SHARED}/{relative}"
        marker = self._staging / "_vendor__init__.py"
        marker.write_text(f'"""Build-time copy of {SHARED}: docs/packaging.md."""\n')
        forced[str(marker)] = f"{package}/_vendor/__init__.py"
        typed = source / "py.typed"
        if typed.is_file():
            forced[str(typed)] = f"{package}/_vendor/{SHARED}/py.typed"
        # The plugin's own modules that import it.
        own = Path(self.root) / package
        for path in sorted(own.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            if rewrite_imports(text, target) != text:
                forced[self._stage(path, target)] = f"{package}/{path.relative_to(own).as_posix()}"

    def _stage(self, path: Path, target: str) -> str:
        staged = self._staging / f"{len(list(self._staging.iterdir())):04d}-{path.name}"
        staged.write_text(rewrite_imports(path.read_text(encoding="utf-8"), target), "utf-8")
        return str(staged)

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:  # noqa: ARG002
        staging = getattr(self, "_staging", None)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
