"""Each setting's default and constraints live only in the plugin's config schema.

singer-sdk fills every declared default into the config while validating it
(``extend_validator_with_defaults``), so plugin code reads ``self.config[name]``
and never restates a default beside the schema. These tests prove the SDK does
so for every default of both plugins, and scan the plugin packages for a
fallback written next to a config read.
"""

from __future__ import annotations

import ast
import typing as t
from pathlib import Path

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_algolia.tap import TapAlgolia
from target_algolia.target import TargetAlgolia

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_PACKAGES = [ROOT / "tap-algolia" / "tap_algolia", ROOT / "target-algolia" / "target_algolia"]
PLUGINS = [TapAlgolia, TargetAlgolia]
REQUIRED = {"app_id": "APP", "api_key": "key", "api_url": "http://127.0.0.1:9"}


def _is_config(node: ast.AST) -> bool:
    """``<anything>.config``: the plugin's (or its stream's or sink's) settings."""
    return isinstance(node, ast.Attribute) and node.attr == "config"


def _is_config_read(node: ast.AST) -> bool:
    """``<x>.config.get(...)`` or ``<x>.config[...]``."""
    if isinstance(node, ast.Call):
        func = node.func
        return isinstance(func, ast.Attribute) and func.attr == "get" and _is_config(func.value)
    return isinstance(node, ast.Subscript) and _is_config(node.value)


def config_fallbacks(source: str) -> list[tuple[int, str]]:
    """(line, code) of every config read that brings its own default."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        # config.get("x", default)
        if isinstance(node, ast.Call) and _is_config_read(node) and len(node.args) > 1:
            found.append((node.lineno, ast.unparse(node)))
        # config.get("x") or default
        elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            if any(_is_config_read(value) for value in node.values[:-1]):
                found.append((node.lineno, ast.unparse(node)))
        # default if config.get("x") is None else config["x"]
        elif isinstance(node, ast.IfExp) and any(
            _is_config_read(part) for part in ast.walk(node.test)
        ):
            found.append((node.lineno, ast.unparse(node)))
    return found


@pytest.mark.parametrize(
    "code",
    [
        'self.config.get("page_size", 1000)',
        'self.config.get("page_size", DEFAULT_PAGE_SIZE)',
        'self.config.get("user_id_field") or "algolia_user_id"',
        'int(self.config.get("concurrency") or 8)',
        'self._target.config["trigger_events"] or "both"',
        '30 if self.config.get("timeout") is None else self.config["timeout"]',
    ],
)
def test_the_scan_finds_a_fallback(code: str) -> None:
    assert [line for line, _ in config_fallbacks(f"x = {code}\n")] == [1]


@pytest.mark.parametrize(
    "code",
    [
        'self.config["page_size"]',
        'self.config.get("rejects_path")',  # an optional setting with no default
        'indices := self.config.get("indices")',
        'record.get("segment") or ""',  # not a setting
    ],
)
def test_the_scan_passes_a_plain_read(code: str) -> None:
    assert config_fallbacks(f"x = ({code})\n") == []


def test_no_config_read_in_the_plugins_brings_its_own_default() -> None:
    modules = sorted(path for package in PLUGIN_PACKAGES for path in package.rglob("*.py"))
    assert len(modules) > 10, modules
    found = [
        f"{path.relative_to(ROOT)}:{line}: {code}"
        for path in modules
        for line, code in config_fallbacks(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "defaults belong in the config schema:\n" + "\n".join(found)


def _declared_defaults(plugin: type[t.Any], *, builtin: bool = True) -> dict[str, t.Any]:
    """Defaults of the plugin's settings; ``builtin=False``: not those the SDK adds."""
    properties = plugin.config_jsonschema["properties"]
    sdk_settings: dict[str, t.Any] = {"properties": {}}
    plugin.append_builtin_config(sdk_settings)
    return {
        name: prop["default"]
        for name, prop in properties.items()
        if "default" in prop and (builtin or name not in sdk_settings["properties"])
    }


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
def test_the_sdk_fills_every_declared_default_into_the_config(plugin: type[t.Any]) -> None:
    defaults = _declared_defaults(plugin)
    assert len(defaults) >= 4, defaults
    config = plugin(config=dict(REQUIRED)).config
    assert {name: config.get(name) for name in defaults} == defaults


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
def test_a_setting_with_a_default_cannot_be_null(plugin: type[t.Any]) -> None:
    """A null would bypass the default and reach code that reads the value as is."""
    own = _declared_defaults(plugin, builtin=False)
    assert len(own) >= 4, own
    for name in own:
        with pytest.raises(ConfigValidationError) as caught:
            plugin(config={**REQUIRED, name: None})
        assert any(name in error for error in caught.value.errors), caught.value.errors


@pytest.mark.parametrize("source", ["", "   ", "s" * 257])
def test_segment_source_is_refused_by_the_schema(source: str) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        TargetAlgolia(config={**REQUIRED, "segment_source": source})
    assert any("segment_source" in error for error in caught.value.errors), caught.value.errors


def test_segment_source_of_the_longest_segment_id_is_accepted() -> None:
    target = TargetAlgolia(config={**REQUIRED, "segment_source": " s" + "s" * 254})
    assert len(target.config["segment_source"]) == 256
