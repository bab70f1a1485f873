"""The plugins' hold on singer-sdk: every override marked, every private name in one module.

For each plugin package (see ``PLUGINS``):

- every method of a plugin class that overrides a singer-sdk base-class
  attribute carries ``@override`` (typing_extensions), so mypy fails when the
  SDK method disappears or changes;
- every private singer-sdk name (a leading underscore on an SDK object, or a
  ``singer_sdk`` module whose path has a part with a leading underscore) is
  used only in the package's internals module;
- the internals module's ``SIGNATURES_WRITTEN_AGAINST`` equals what the
  installed singer-sdk has, so an SDK upgrade that changes one fails here
  instead of silently;
- where the internals module copies or skips what an SDK method does, or
  relies on singer-sdk calling its overrides, its ``SDK_SOURCE_TEXTS`` (text
  that SDK source must still contain) holds.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import textwrap
import types
import typing as t
from pathlib import Path

import pytest
from typing_extensions import override

# (plugin package, its module holding every private singer-sdk name it uses)
PLUGINS = [
    ("tap_algolia", "tap_algolia.sdk_internals"),
    ("target_algolia", "target_algolia.sdk_internals"),
]

_PLUGIN_IDS = [package for package, _ in PLUGINS]


def _modules(package: str) -> list[types.ModuleType]:
    root = importlib.import_module(package)
    names = [info.name for info in pkgutil.walk_packages(root.__path__, f"{package}.")]
    return [root, *(importlib.import_module(name) for name in names)]


def _is_sdk(cls: type) -> bool:
    return cls.__module__.split(".")[0] == "singer_sdk"


def _plugin_classes(package: str) -> list[type]:
    """Classes defined in the package that derive from a singer-sdk class."""
    found = []
    for module in _modules(package):
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and value.__module__ == module.__name__
                and any(_is_sdk(base) for base in value.__mro__[1:])
            ):
                found.append(value)
    return found


def _functions(attribute: object) -> list[object]:
    """The function objects behind a class attribute (property, classmethod...)."""
    if isinstance(attribute, property):
        return [f for f in (attribute.fget, attribute.fset, attribute.fdel) if f is not None]
    if isinstance(attribute, (classmethod, staticmethod)):
        return [attribute, attribute.__func__]
    if inspect.isfunction(attribute):
        return [attribute]
    return []


@functools.cache
def _sdk_attributes(cls: type) -> set[str]:
    """Names singer-sdk's classes in ``cls``'s MRO define (class attributes and ``self.x``)."""
    names: set[str] = set()
    for base in cls.__mro__:
        if _is_sdk(base):
            names |= set(vars(base)) | set(_instance_attributes(base))
    return names


@functools.cache
def _instance_attributes(cls: type) -> dict[str, str]:
    """``self.name`` assignments in a class's source: name -> annotation text ('' if none)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return {}
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign):
            targets, annotation = [node.target], ast.unparse(node.annotation)
        elif isinstance(node, ast.Assign):
            targets, annotation = node.targets, ""
        else:
            continue
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):
                found[target.attr] = annotation or found.get(target.attr, "")
    return found


def _unmarked_overrides(classes: list[type]) -> list[str]:
    """Methods of ``classes`` that override a singer-sdk attribute without ``@override``."""
    unmarked = []
    for cls in classes:
        sdk_names = _sdk_attributes(cls)
        for name, attribute in vars(cls).items():
            if name.startswith("__") and name.endswith("__"):
                continue  # __init__ and other dunders: Python's protocol, not SDK hooks
            functions = _functions(attribute)
            marked = any(getattr(f, "__override__", False) for f in functions)
            if name in sdk_names and functions and not marked:
                unmarked.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    return unmarked


@pytest.mark.parametrize(("package", "internals"), PLUGINS, ids=_PLUGIN_IDS)
def test_every_method_overriding_singer_sdk_is_marked_override(
    package: str,
    internals: str,
) -> None:
    classes = _plugin_classes(package)
    assert classes, f"no singer-sdk subclasses found in {package}"
    assert _unmarked_overrides(classes) == []


def test_the_override_check_finds_an_unmarked_override() -> None:
    from singer_sdk.sinks import BatchSink

    class Sink(BatchSink):
        @override
        def process_record(self, record: dict, context: dict) -> None: ...

        @property
        def is_full(self) -> bool:  # unmarked
            return False

        @classmethod
        def _internal(cls) -> None: ...  # not a singer-sdk name

        def _singer_validate_message(self, record: dict) -> None: ...  # unmarked

    assert sorted(name.rpartition(".")[2] for name in _unmarked_overrides([Sink])) == [
        "_singer_validate_message",
        "is_full",
    ]


def _private_sdk_uses(path: Path, sdk_private: set[str]) -> list[str]:
    """Lines of ``path`` that name a private singer-sdk module or attribute."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    uses = []
    for node in ast.walk(tree):
        module = None
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
        elif isinstance(node, ast.Import):
            module = ",".join(alias.name for alias in node.names)
        if module is not None:
            parts = module.replace(",", ".").split(".")
            if "singer_sdk" in parts and any(part.startswith("_") for part in parts):
                uses.append(f"{path.name}:{node.lineno} imports {module}")
            continue
        name = None
        if isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = node.name
        if name in sdk_private:
            uses.append(f"{path.name}:{node.lineno} uses {name}")
    return uses


@pytest.mark.parametrize(("package", "internals"), PLUGINS, ids=_PLUGIN_IDS)
def test_private_singer_sdk_names_are_used_only_in_the_internals_module(
    package: str, internals: str
) -> None:
    sdk_private = {
        name
        for cls in _plugin_classes(package)
        for name in _sdk_attributes(cls)
        if name.startswith("_") and not name.startswith("__")
    }
    internals_file = Path(t.cast(str, importlib.import_module(internals).__file__))
    outside = []
    for module in _modules(package):
        path = Path(t.cast(str, module.__file__))
        if path != internals_file:
            outside += _private_sdk_uses(path, sdk_private)
    assert outside == [], f"private singer-sdk names outside {internals}: {outside}"


_MISSING = object()


def installed_signature(dotted: str) -> str:
    """What the installed singer-sdk has for ``module:Class.name`` (or ``module:name``).

    A method or function: its ``inspect.signature`` text. An attribute that
    only exists on instances: its annotation in the class source.
    """
    module_name, _, qualname = dotted.partition(":")
    owner: t.Any = importlib.import_module(module_name)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    # getattr_static: a class property is looked at, not evaluated on the base class.
    value = inspect.getattr_static(owner, name, _MISSING)
    if value is not _MISSING:
        functions = _functions(value)
        if functions:
            return str(inspect.signature(t.cast(t.Any, functions[-1])))
        return type(value).__name__
    if inspect.isclass(owner):
        for cls in owner.__mro__:
            attributes = _instance_attributes(cls)
            if name in attributes:
                return attributes[name]
    return "<missing>"


def signature_drift(declared: dict[str, str]) -> list[str]:
    """Each declared name whose installed signature differs, with both texts."""
    return [
        f"{dotted}: written against {text!r}, installed {installed!r}"
        for dotted, text in declared.items()
        if (installed := installed_signature(dotted)) != text
    ]


def test_the_private_name_scan_finds_imports_and_attributes(tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text(
        "from singer_sdk.helpers._util import utc_now\n"
        "import singer_sdk._singerlib\n"
        "from singer_sdk.helpers.capabilities import PluginCapabilities\n"
        "class T:\n"
        "    def _write_state_message(self, state):\n"
        "        return self._latest_state, self._own\n",
        encoding="utf-8",
    )
    assert _private_sdk_uses(source, {"_latest_state", "_write_state_message"}) == [
        "module.py:1 imports singer_sdk.helpers._util",
        "module.py:2 imports singer_sdk._singerlib",
        "module.py:5 uses _write_state_message",
        "module.py:6 uses _latest_state",
    ]


@pytest.mark.parametrize(("package", "internals"), PLUGINS, ids=_PLUGIN_IDS)
def test_internals_match_the_installed_singer_sdk(
    package: str,
    internals: str,
) -> None:
    declared = importlib.import_module(internals).SIGNATURES_WRITTEN_AGAINST
    assert declared, f"{internals} declares no singer-sdk signatures"
    assert signature_drift(declared) == []


@pytest.mark.parametrize(("package", "internals"), PLUGINS, ids=_PLUGIN_IDS)
def test_every_private_name_overridden_in_the_internals_module_is_declared(
    package: str,
    internals: str,
) -> None:
    module = importlib.import_module(internals)
    declared_names = {dotted.rpartition(".")[2] for dotted in module.SIGNATURES_WRITTEN_AGAINST}
    overridden = {
        name
        for cls in vars(module).values()
        if inspect.isclass(cls) and cls.__module__ == module.__name__
        for name, value in vars(cls).items()
        if name.startswith("_") and not name.startswith("__") and _functions(value)
    }
    assert overridden - declared_names == set()


class _Changed:
    """Stands in for a singer-sdk class after an upgrade changed its internals."""

    def __init__(self) -> None:
        self._latest_state: list[dict] = []

    def _write_state_message(self, state: dict, *, flush: bool) -> None: ...


def test_the_signature_check_detects_a_change(monkeypatch: pytest.MonkeyPatch) -> None:
    from singer_sdk.target_base import Target

    declared = {
        "singer_sdk.target_base:Target._write_state_message": "(self, state: 'dict') -> 'None'",
        "singer_sdk.target_base:Target._latest_state": "dict[str, dict] | None",
        "singer_sdk.target_base:Target._gone": "(self) -> 'None'",
    }
    assert [line.split(":")[1] for line in signature_drift(declared)] == ["Target._gone"]

    monkeypatch.setattr(Target, "_write_state_message", _Changed._write_state_message)
    assert signature_drift(declared)[0].startswith(
        "singer_sdk.target_base:Target._write_state_message: written against "
        "\"(self, state: 'dict') -> 'None'\", installed "
        "\"(self, state: 'dict', *, flush: 'bool') -> 'None'\""
    )

    changed = {f"{__name__}:_Changed._latest_state": "dict[str, dict] | None"}
    assert signature_drift(changed) == [
        f"{__name__}:_Changed._latest_state: written against "
        "'dict[str, dict] | None', installed 'list[dict]'"
    ]


def _resolve(dotted: str) -> t.Any:
    module_name, _, qualname = dotted.partition(":")
    found: t.Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def source_drift(declared: dict[str, tuple[str, ...]]) -> list[str]:
    """Each declared text the installed singer-sdk source no longer contains."""
    drift = []
    for dotted, texts in declared.items():
        try:
            source = inspect.getsource(_resolve(dotted))
        except (AttributeError, ImportError):
            drift.append(f"{dotted}: missing")
            continue
        drift += [f"{dotted}: no longer contains {text!r}" for text in texts if text not in source]
    return drift


@pytest.mark.parametrize(("package", "internals"), PLUGINS, ids=_PLUGIN_IDS)
def test_sdk_source_the_internals_rely_on_is_unchanged(package: str, internals: str) -> None:
    declared = getattr(importlib.import_module(internals), "SDK_SOURCE_TEXTS", None)
    if declared is None:
        pytest.skip(f"{internals} copies no singer-sdk method body")
    assert source_drift(declared) == []


def test_the_source_check_detects_a_change(monkeypatch: pytest.MonkeyPatch) -> None:
    from singer_sdk import Stream

    declared = {
        "singer_sdk.streams.core:Stream._write_record_message": (
            "self.state_manager.is_flushed = False",
        ),
        "singer_sdk.streams.core:Stream._gone": ("anything",),
    }
    assert source_drift(declared) == ["singer_sdk.streams.core:Stream._gone: missing"]

    def no_longer_marks_state_unflushed(self: Stream, record: dict) -> None:
        for record_message in self._generate_record_messages(record):
            self._tap.write_message(record_message)

    monkeypatch.setattr(Stream, "_write_record_message", no_longer_marks_state_unflushed)
    assert source_drift(declared)[0] == (
        "singer_sdk.streams.core:Stream._write_record_message: no longer contains "
        "'self.state_manager.is_flushed = False'"
    )


def test_the_signature_check_detects_a_change_the_tap_relies_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tap's own declarations, against a singer-sdk whose record path changed."""
    from singer_sdk import Stream

    declared = importlib.import_module("tap_algolia.sdk_internals").SIGNATURES_WRITTEN_AGAINST

    def changed(self: Stream, record: dict, *, extra: bool = False) -> None: ...

    monkeypatch.setattr(Stream, "_write_record_message", changed)
    monkeypatch.delattr(Stream, "_process_record")
    drift = signature_drift(declared)
    assert [line.partition(":")[2].partition(":")[0] for line in drift] == [
        "Stream._write_record_message",
        "Stream._process_record",
    ]
    assert "extra" in drift[0]
    assert "'<missing>'" in drift[1]
