"""A local stand-in for Algolia's Advanced Personalization API v2 with segments."""

from __future__ import annotations

from .admin_client import AdminClient, AdminError
from .server import EmulatorServer
from .settings import DEFAULT_API_KEY, DEFAULT_APP_ID, SEARCH_ONLY_KEY

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_APP_ID",
    "SEARCH_ONLY_KEY",
    "AdminClient",
    "AdminError",
    "EmulatorServer",
    "__version__",
]
