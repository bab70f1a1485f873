"""The replication method a classic Singer catalog asks for, made visible to singer-sdk.

Rule: when a stream's root metadata sets ``replication-method`` (the key
classic Singer catalogs use for the user's choice, and the one Meltano's
``metadata:`` extra writes), that method is the stream's. singer-sdk reads only
the entry-level ``replication_method`` and ``forced-replication-method``, and
its own discovery writes ``replication_method: INCREMENTAL`` on the entry, so
without this a catalog that asks for FULL_TABLE in the classic way would
silently run an incremental sync. The key is copied to the entry before
singer-sdk parses the catalog; a catalog without it is left as it is.
"""

from __future__ import annotations

import copy
import json
import typing as t
from collections.abc import Mapping
from pathlib import Path, PurePath

from singer_sdk.singerlib import Catalog

CatalogInput: t.TypeAlias = "PurePath | str | dict[str, t.Any] | Catalog | None"


def _root_metadata(entry: Mapping[str, t.Any]) -> Mapping[str, t.Any]:
    for item in entry.get("metadata") or []:
        if isinstance(item, Mapping) and not item.get("breadcrumb"):
            metadata = item.get("metadata")
            return metadata if isinstance(metadata, Mapping) else {}
    return {}


def with_classic_replication_method(catalog: CatalogInput) -> CatalogInput:
    """``catalog`` with each stream's ``replication-method`` metadata copied to the entry.

    A path is read (as singer-sdk would); a parsed :class:`Catalog` has already
    lost the key and is returned as it is, and so is anything that is not a
    catalog object (singer-sdk reports it).
    """
    if isinstance(catalog, (str, PurePath)):
        catalog = t.cast("dict[str, t.Any]", json.loads(Path(catalog).read_text("utf-8")))
    if isinstance(catalog, Catalog) or not isinstance(catalog, dict):
        return catalog
    if not isinstance(catalog.get("streams"), list):
        return catalog
    result: dict[str, t.Any] = copy.deepcopy(catalog)
    for entry in result["streams"]:
        if not isinstance(entry, dict):
            continue
        if method := _root_metadata(entry).get("replication-method"):
            entry["replication_method"] = method
    return result
