"""Connection settings shared by tap-algolia and target-algolia.

Both plugins declare the same connection properties and turn a plugin config
into one validated :class:`ConnectionSettings`, so a region or URL mistake is
refused the same way, with the same words, whichever plugin meets it first.
"""

from __future__ import annotations

import ipaddress
import typing as t
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

REGIONS = ("us", "eu")
REGION_HOST = "https://ai-personalization.{region}.algolia.com"
DEFAULT_REQUEST_TIMEOUT = 30
DEFAULT_MAX_RETRIES = 8

CONNECTION_PROPERTIES = th.PropertiesList(
    th.Property(
        "app_id",
        th.StringType,
        required=True,
        title="Application ID",
        description="Algolia application ID (dashboard: Settings > API Keys).",
    ),
    th.Property(
        "api_key",
        th.StringType,
        required=True,
        secret=True,
        title="API key",
        description=(
            "Algolia API key with the search, browse and recommendation ACLs. "
            "Never logged or echoed."
        ),
    ),
    th.Property(
        "region",
        th.StringType,
        default="us",
        allowed_values=list(REGIONS),
        title="Region",
        description=(
            "Analytics region of the Algolia application: `us` or `eu`. "
            "Selects https://ai-personalization.<region>.algolia.com."
        ),
    ),
    th.Property(
        "api_url",
        th.StringType,
        title="API URL override",
        description=(
            "Base URL to use instead of the regional host, for example a local "
            "emulator. Must be https unless the host is loopback."
        ),
    ),
    th.Property(
        "request_timeout",
        th.IntegerType(minimum=1),
        default=DEFAULT_REQUEST_TIMEOUT,
        title="Request timeout",
        description="Seconds to wait for Algolia to answer one request before retrying it.",
    ),
    th.Property(
        "max_retries",
        th.IntegerType(minimum=0),
        default=DEFAULT_MAX_RETRIES,
        title="Maximum retries",
        description=(
            "Retries of one request after a 429, a 5xx, a timeout or a dropped "
            "connection, with exponential backoff and jitter."
        ),
    ),
)


def plugin_config_schema(*groups: th.PropertiesList) -> dict[str, t.Any]:
    """A plugin's config JSON schema: its setting groups, where a default is never null.

    The schema is the one place a setting's default and constraints live: the
    SDK fills each declared default into the config before the plugin reads it,
    so code reads ``self.config[name]`` with no fallback of its own. A setting
    with a default may be left out but not set to null (``th.Property`` makes
    every optional setting nullable), so a value read is never None.
    """
    schema = th.PropertiesList(*(p for group in groups for p in group.wrapped.values())).to_dict()
    for prop in schema["properties"].values():
        types = prop.get("type")
        if "default" in prop and isinstance(types, list) and "null" in types:
            prop["type"] = [kind for kind in types if kind != "null"]
    return schema


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_base_url(region: str, api_url: str | None) -> str:
    """Return the base URL requests go to, or raise ValueError saying what to fix."""
    if region not in REGIONS:
        msg = (
            f"region must be 'us' or 'eu' (got {region!r}): "
            "use the analytics region of your Algolia application"
        )
        raise ValueError(msg)
    if not api_url:
        return REGION_HOST.format(region=region)
    parts = urlsplit(api_url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        msg = f"api_url must be an absolute https URL such as https://host:port (got {api_url!r})"
        raise ValueError(msg)
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        msg = (
            f"api_url {api_url!r} uses plain http: https is required "
            "(plain http is only accepted for a loopback host such as 127.0.0.1)"
        )
        raise ValueError(msg)
    if parts.query or parts.fragment or parts.username or parts.password:
        msg = "api_url must not carry credentials, a query or a fragment"
        raise ValueError(msg)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class ConnectionSettings:
    """Validated connection settings. ``api_key`` is kept out of ``repr``."""

    app_id: str
    api_key: str = field(repr=False)
    region: str = "us"
    base_url: str = REGION_HOST.format(region="us")
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> ConnectionSettings:
        """Build settings from a plugin config; raise ConfigValidationError on bad input."""
        errors: list[str] = []
        app_id = config.get("app_id")
        api_key = config.get("api_key")
        if not isinstance(app_id, str) or not app_id.strip():
            errors.append("app_id is required: your Algolia application ID")
        if not isinstance(api_key, str) or not api_key.strip():
            errors.append(
                "api_key is required: an Algolia API key with the search, browse "
                "and recommendation ACLs"
            )
        region = config.get("region") or "us"
        base_url = ""
        try:
            base_url = resolve_base_url(str(region), config.get("api_url"))
        except ValueError as exc:
            errors.append(str(exc))
        if errors:
            raise ConfigValidationError("Invalid Algolia connection settings", errors=errors)
        return cls(
            app_id=str(app_id).strip(),
            api_key=str(api_key).strip(),
            region=str(region),
            base_url=base_url,
            request_timeout=float(config.get("request_timeout") or DEFAULT_REQUEST_TIMEOUT),
            max_retries=int(
                DEFAULT_MAX_RETRIES if config.get("max_retries") is None else config["max_retries"]
            ),
        )
