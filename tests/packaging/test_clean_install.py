"""Each plugin installs from one requirement into a clean virtual environment.

Two forms, as a user would write them (docs/packaging.md):

- a git URL with ``#subdirectory=`` (here ``git+file://`` of this checkout; a
  user writes ``git+https://...``): both plugins in one ``pip install``;
- the wheels built from this repository: each alone, then both together.

No singer-algolia-api is installed or resolvable in either environment, and
there is no ``--find-links``: the requirement alone must bring everything. The
plugins share no file, so removing one leaves the other working.
"""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.slow]

PLUGINS = ("tap-algolia", "target-algolia")
# Runs in the clean environment: the contract comes from each plugin's own copy.
IMPORT_CHECK = """
import importlib.util, tap_algolia.tap, target_algolia.target
assert importlib.util.find_spec("algolia_api") is None
from tap_algolia._vendor import algolia_api as a
from target_algolia._vendor import algolia_api as b
assert a is not b and a.AlgoliaClient is not b.AlgoliaClient
"""


def about(env, plugin: str) -> dict:
    return json.loads(env.run(plugin, "--about", "--format=json").stdout)


def installed_files(env, distribution: str) -> set[str]:
    shown = env.run("python", "-m", "pip", "show", "--files", distribution).stdout
    files = shown.split("Files:", 1)[1].split()
    return {f for f in files if not f.startswith("..")}  # ../../bin/<executable>


def test_git_urls_install_both_plugins_together(clean_venv, repo_git_url):
    clean_venv.pip_install(*(f"{repo_git_url}#subdirectory={p}" for p in PLUGINS))
    clean_venv.run("python", "-m", "pip", "check")
    for plugin in PLUGINS:
        assert about(clean_venv, plugin)["name"] == plugin
    clean_venv.run("python", "-c", IMPORT_CHECK)


def test_wheels_install_alone_and_together(clean_venv, dist):
    wheels = {p: next(dist.glob(f"{p.replace('-', '_')}-*.whl")) for p in PLUGINS}
    clean_venv.pip_install(str(wheels["tap-algolia"]))
    assert about(clean_venv, "tap-algolia")["settings"]["required"] == ["app_id", "api_key"]
    clean_venv.pip_install(str(wheels["target-algolia"]))
    clean_venv.run("python", "-m", "pip", "check")
    clean_venv.run("python", "-c", IMPORT_CHECK)

    tap_files = installed_files(clean_venv, "tap-algolia")
    target_files = installed_files(clean_venv, "target-algolia")
    assert not tap_files & target_files
    clean_venv.run("python", "-m", "pip", "uninstall", "-y", "tap-algolia")
    assert about(clean_venv, "target-algolia")["name"] == "target-algolia"
