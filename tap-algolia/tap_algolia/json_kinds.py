"""How a value read from JSON is named in a message: algolia_api's rule, re-exported.

Users read "is a number, not a string", never "is a int".
"""

from __future__ import annotations

from algolia_api import json_kind

__all__ = ["json_kind"]
