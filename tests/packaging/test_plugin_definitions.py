"""The Meltano definitions of both plugins agree with what the plugins report.

meltano-hub/<type>/<plugin>/*.yml (the Hub-format files for `meltano add --from-ref`)
and the two plugin entries of meltano.yml repeat each plugin's settings. Here both
are compared with the live ``<plugin> --about --format=json`` of the installed
plugin: every setting it reports is declared and nothing else, with the kind its
JSON schema implies, its default, and `sensitive` exactly where the schema says
`secret`. A setting added to a plugin fails this test until the files are
regenerated (build-support/plugin_definitions.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = {"tap-algolia": "extractors", "target-algolia": "loaders"}
HUB_FIELDS = ("name", "namespace", "variant", "pip_url", "executable", "capabilities", "docs")


@pytest.fixture(scope="module", params=sorted(PLUGINS))
def plugin(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def about(plugin: str) -> dict[str, Any]:
    exe = Path(sys.executable).parent / plugin
    out = subprocess.run(
        [str(exe), "--about", "--format=json"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def hub_file(plugin: str) -> Path:
    files = sorted((ROOT / "meltano-hub" / PLUGINS[plugin] / plugin).glob("*.yml"))
    assert len(files) == 1, f"one definition file per plugin, found {files}"
    return files[0]


def meltano_yml_entry(plugin: str) -> dict[str, Any]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (entry,) = [p for p in project["plugins"][PLUGINS[plugin]] if p["name"] == plugin]
    return dict(entry)


def expected_kind(schema: dict[str, Any]) -> str:
    """Meltano's setting kind for a JSON-schema property, as Meltano Hub spells them."""
    types = set([schema["type"]] if isinstance(schema["type"], str) else schema["type"])
    types.discard("null")
    if "enum" in schema:
        return "options"
    if schema.get("format") == "date-time":
        assert types == {"string"}
        return "date_iso8601"
    (only,) = types
    # Numbers and booleans are read by the plugin from text (algolia_api.settings):
    # Meltano's decimal, integer and boolean kinds each break some way of setting them.
    return "string" if only in {"number", "integer", "boolean"} else only


def check_settings(declared: list[dict[str, Any]], about: dict[str, Any], where: str) -> None:
    properties = about["settings"]["properties"]
    by_name = {s["name"]: s for s in declared}
    assert len(by_name) == len(declared), f"{where}: a setting is declared twice"
    assert set(by_name) == set(properties), (
        f"{where}: missing {sorted(set(properties) - set(by_name))}, "
        f"unknown {sorted(set(by_name) - set(properties))}; "
        "run .venv/bin/python build-support/plugin_definitions.py"
    )
    for name, schema in properties.items():
        setting = by_name[name]
        assert setting["kind"] == expected_kind(schema), f"{where}: {name} kind"
        assert setting.get("value") == schema.get("default"), f"{where}: {name} default"
        assert bool(setting.get("sensitive")) == bool(schema.get("secret")), (
            f"{where}: {name} sensitive"
        )
        if "enum" in schema:
            assert [o["value"] for o in setting["options"]] == schema["enum"], name
        assert setting.get("description") == schema.get("description"), f"{where}: {name}"


def test_hub_definition_matches_about(plugin: str, about: dict[str, Any]) -> None:
    path = hub_file(plugin)
    definition = yaml.safe_load(path.read_text())
    for field in HUB_FIELDS:
        assert definition.get(field), f"{path.name}: {field} missing"
    assert definition["name"] == plugin == about["name"]
    assert definition["executable"] == plugin
    assert definition["namespace"] == plugin.replace("-", "_")
    assert path.stem == definition["variant"]
    assert set(definition["capabilities"]) == set(about["capabilities"])
    required = set(about["settings"].get("required") or [])
    assert required
    assert [set(g) for g in definition["settings_group_validation"]] == [required]
    check_settings(definition["settings"], about, path.name)


def test_meltano_yml_matches_about(plugin: str, about: dict[str, Any]) -> None:
    entry = meltano_yml_entry(plugin)
    assert entry["executable"] == plugin
    assert entry["namespace"] == plugin.replace("-", "_")
    assert set(entry["capabilities"]) == set(about["capabilities"])
    required = set(about["settings"].get("required") or [])
    assert [set(g) for g in entry["settings_group_validation"]] == [required]
    check_settings(entry["settings"], about, "meltano.yml")


def test_secrets_are_sensitive_everywhere(plugin: str, about: dict[str, Any]) -> None:
    """The API key in particular: masked by `meltano config` in both definitions."""
    secrets = {n for n, s in about["settings"]["properties"].items() if s.get("secret")}
    assert "api_key" in secrets
    for declared in (
        yaml.safe_load(hub_file(plugin).read_text())["settings"],
        meltano_yml_entry(plugin)["settings"],
    ):
        assert {s["name"] for s in declared if s.get("sensitive")} == secrets


# What Meltano Hub's plugin-definition schema (meltano/hub, schemas/plugin_definitions)
# accepts, restated: the keys it allows, the kinds and capabilities it knows.
HUB_REQUIRED = {"name", "namespace", "variant", "label"}
HUB_KEYS = HUB_REQUIRED | {
    "pip_url", "executable", "description", "docs", "repo", "logo_url", "hidden",
    "settings_group_validation", "settings", "capabilities", "commands", "metadata",
    "schema", "select", "maintenance_status", "domain_url", "keywords", "requires",
    "definition", "next_steps", "settings_preamble", "usage", "prereq", "quality",
}  # fmt: skip
HUB_SETTING_KEYS = {
    "name", "aliases", "label", "value", "placeholder", "kind", "description", "tooltip",
    "documentation", "env", "value_processor", "value_post_processor", "oauth", "options",
    "docs", "hidden", "sensitive",
}  # fmt: skip
HUB_KINDS = {
    "oauth", "hidden", "password", "date_iso8601", "file", "email", "integer", "options",
    "object", "array", "boolean", "string", "decimal",
}  # fmt: skip
HUB_CAPABILITIES = {
    "extractors": {
        "properties", "catalog", "discover", "state", "about", "stream-maps",
        "schema-flattening", "activate-version", "batch", "test", "log-based",
        "structured-logging",
    },
    # The Hub's loader list has no structured-logging yet, while singer-sdk 0.54
    # targets report it and Meltano 4 uses it to read their JSON logs: kept, and
    # named in docs/release.md for the Hub pull request.
    "loaders": {
        "about", "stream-maps", "activate-version", "batch", "soft-delete", "hard-delete",
        "datatype-failsafe", "schema-flattening", "target-schema", "validate-records",
        "structured-logging",
    },
}  # fmt: skip
MAINTENANCE = {"active", "beta", "development", "inactive", "unknown"}


def test_hub_definition_fits_the_hub_schema(plugin: str) -> None:
    definition = yaml.safe_load(hub_file(plugin).read_text())
    assert set(definition) >= HUB_REQUIRED
    assert set(definition) <= HUB_KEYS, set(definition) - HUB_KEYS
    assert set(definition["capabilities"]) <= HUB_CAPABILITIES[PLUGINS[plugin]]
    assert definition["maintenance_status"] in MAINTENANCE
    assert all(isinstance(k, str) for k in definition["keywords"])
    for setting in definition["settings"]:
        assert set(setting) <= HUB_SETTING_KEYS, setting
        assert setting["kind"] in HUB_KINDS, setting
        for option in setting.get("options", []):
            assert isinstance(option["value"], str), setting["name"]
            assert isinstance(option["label"], str), setting["name"]


def test_target_declares_the_preflight_as_its_meltano_test_command() -> None:
    """`meltano test target-algolia` runs `--test`; a plugin command gets no --config
    from Meltano, so it reads the settings Meltano exports (`--config ENV`)."""
    hub = yaml.safe_load(hub_file("target-algolia").read_text())
    entry = meltano_yml_entry("target-algolia")
    assert hub["commands"] == entry["commands"]
    assert hub["commands"]["test"]["args"].split() == ["--config", "ENV", "--test"]
    assert hub["commands"]["test"]["description"]
    out = subprocess.run(
        [str(Path(sys.executable).parent / "target-algolia"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "--test" in out.stdout
