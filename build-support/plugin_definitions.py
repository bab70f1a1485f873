"""Meltano plugin definitions of tap-algolia and target-algolia, generated from ``--about``.

Rule: a plugin's settings are declared once, in its code (the SDK config schema).
Two places repeat them for Meltano, and both are written by this script from the
live ``--about --format=json`` output, never by hand:

- ``meltano-hub/<type>/<plugin>/<variant>.yml``: the definition in Meltano Hub's
  format, for ``meltano add <type> <plugin> --from-ref <file>`` and for the Hub;
- the ``settings:`` lists of the two plugins in ``meltano.yml`` (between the
  ``# settings: generated`` / ``# end of generated settings`` markers).

After adding or changing a setting, run::

    .venv/bin/python build-support/plugin_definitions.py          # rewrite both
    .venv/bin/python build-support/plugin_definitions.py --check  # exit 1 if stale

tests/packaging/test_plugin_definitions.py holds both places to the live
``--about`` output independently of this script (names, kinds, defaults,
sensitive), so a setting added to a plugin fails the tests until this is re-run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
MELTANO_YML = ROOT / "meltano.yml"

# The public home of this repository. Set before the first release (docs/release.md).
REPOSITORY = "https://github.com/singer-algolia/singer-algolia"
VARIANT = "singer-algolia"

PLUGINS: dict[str, dict[str, Any]] = {
    "tap-algolia": {
        "type": "extractors",
        "namespace": "tap_algolia",
        "label": "Algolia Personalization",
        "description": "Algolia Advanced Personalization user profiles (affinities, segments)",
        "keywords": ["meltano_sdk", "algolia", "personalization"],
    },
    "target-algolia": {
        "type": "loaders",
        "namespace": "target_algolia",
        "label": "Algolia Personalization",
        "description": "Audience memberships written to Algolia user profiles as segments",
        "keywords": ["meltano_sdk", "algolia", "personalization"],
        # `meltano test target-algolia`; meltano.yml declares the same by hand.
        "commands": {
            "test": {
                "args": "--config ENV --test",
                "description": (
                    "Check credentials, region, ACLs and the segments field with one "
                    "read call; writes nothing."
                ),
            }
        },
    },
}

BEGIN = "# settings: generated from --about by build-support/plugin_definitions.py"
END = "# end of generated settings"


def about(plugin: str) -> dict[str, Any]:
    """``<plugin> --about --format=json`` from the executable next to this interpreter."""
    exe = Path(sys.executable).parent / plugin
    out = subprocess.run(
        [str(exe), "--about", "--format=json"], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout))


def setting_kind(schema: dict[str, Any]) -> str:
    """Meltano's setting kind for one JSON-schema property.

    A number or boolean setting is ``string``: Meltano hands its text over as
    written and the plugin reads it (algolia_api.settings: ``nope`` is refused
    as a boolean). Meltano's own kinds break them: ``decimal`` set by an
    environment variable or ``.env`` becomes a Decimal Meltano cannot write to
    the config file, ``integer`` crashes on a typo, ``boolean`` reads ``nope``
    as false.
    """
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "enum" in schema:
        return "options"
    if {"boolean", "integer", "number"} & set(types):
        return "string"
    if "array" in types:
        return "array"
    if "object" in types:
        return "object"
    if schema.get("format") == "date-time":
        return "date_iso8601"
    return "string"


def settings(about_json: dict[str, Any]) -> list[dict[str, Any]]:
    """Meltano settings, in --about's order, from the plugin's config schema."""
    out: list[dict[str, Any]] = []
    for name, schema in about_json["settings"]["properties"].items():
        setting: dict[str, Any] = {"name": name, "kind": setting_kind(schema)}
        if schema.get("title"):
            setting["label"] = schema["title"]
        if schema.get("description"):
            setting["description"] = schema["description"]
        if schema.get("default") is not None:
            setting["value"] = schema["default"]
        if schema.get("secret"):
            setting["sensitive"] = True
        if "enum" in schema:
            setting["options"] = [{"label": str(v), "value": v} for v in schema["enum"]]
        out.append(setting)
    return out


def hub_definition(plugin: str, about_json: dict[str, Any]) -> dict[str, Any]:
    meta = PLUGINS[plugin]
    required = about_json["settings"].get("required") or []
    definition: dict[str, Any] = {
        "name": plugin,
        "namespace": meta["namespace"],
        "variant": VARIANT,
        "label": meta["label"],
        "description": meta["description"],
        "domain_url": "https://www.algolia.com/",
        "repo": REPOSITORY,
        "docs": f"{REPOSITORY}/blob/main/{plugin}/README.md",
        "pip_url": plugin,
        "executable": plugin,
        "maintenance_status": "active",
        "keywords": meta["keywords"],
        "capabilities": sorted(about_json["capabilities"]),
        **({"commands": meta["commands"]} if "commands" in meta else {}),
        "settings_group_validation": [sorted(required)] if required else [],
        "settings": settings(about_json),
    }
    return definition


def hub_path(plugin: str) -> Path:
    return ROOT / "meltano-hub" / PLUGINS[plugin]["type"] / plugin / f"{VARIANT}.yml"


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def hub_text(plugin: str, about_json: dict[str, Any]) -> str:
    header = (
        f"# {plugin}: Meltano Hub definition, generated from `{plugin} --about` by\n"
        "# build-support/plugin_definitions.py. Do not edit by hand.\n"
    )
    return header + dump(hub_definition(plugin, about_json))


def meltano_yml_text(text: str, plugin: str, about_json: dict[str, Any]) -> str:
    """meltano.yml with the plugin's generated settings block replaced."""
    lines = text.splitlines(keepends=True)
    stripped = [line.strip() for line in lines]
    missing = SystemExit(f"meltano.yml: no `{BEGIN}` block under `- name: {plugin}`")
    if f"- name: {plugin}" not in stripped:
        raise missing
    head = stripped.index(f"- name: {plugin}")
    begin = stripped.index(BEGIN, head) if BEGIN in stripped[head:] else -1
    end = stripped.index(END, begin) if begin > 0 and END in stripped[begin:] else -1
    if end < 0 or any(x.startswith("- name: ") for x in stripped[head + 1 : begin]):
        raise missing
    indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
    body = dump({"settings": settings(about_json)}).splitlines(keepends=True)
    block = [lines[begin], *(indent + x if x.strip() else x for x in body), lines[end]]
    return "".join(lines[:begin] + block + lines[end + 1 :])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    wanted: dict[Path, str] = {}
    yml = MELTANO_YML.read_text()
    for plugin in PLUGINS:
        about_json = about(plugin)
        wanted[hub_path(plugin)] = hub_text(plugin, about_json)
        yml = meltano_yml_text(yml, plugin, about_json)
    wanted[MELTANO_YML] = yml
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]
    for path in stale:
        rel = path.relative_to(ROOT)
        if args.check:
            print(f"stale: {rel} (run build-support/plugin_definitions.py)", file=sys.stderr)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(wanted[path])
            print(f"wrote {rel}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
