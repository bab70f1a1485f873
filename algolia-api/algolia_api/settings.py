"""Connection settings shared by tap-algolia and target-algolia, and how a setting is read.

Both plugins declare the same connection properties and turn a plugin config
into one validated :class:`ConnectionSettings`, so a region or URL mistake is
refused the same way, with the same words, whichever plugin meets it first.

Rule for number and boolean settings (both plugins, singer-sdk's own too):
each may be given as its JSON value or as text, and text is read here, once,
strictly (:func:`read_typed_settings`, applied by :class:`TypedSettings`
before singer-sdk validates the config):

- a boolean is ``true``/``false``, ``yes``/``no``, ``on``/``off`` or
  ``1``/``0`` in any case, and nothing else: ``dry_run=nope`` is refused,
  never read as false;
- an integer is written in digits (``100``, ``-1``); a number also with a
  fraction or exponent (``0.9``, ``1e-3``), never ``nan`` or ``inf``.

Anything else stops the run before any API call with one line naming the
setting. Meltano hands such settings over as text (their Meltano ``kind`` is
``string``: build-support/plugin_definitions.py), because Meltano's own
readings break them: ``kind: decimal`` makes a value set by an environment
variable or ``.env`` a ``Decimal`` that Meltano cannot write to the config
file, ``kind: integer`` crashes on a typo, and ``kind: boolean`` reads any
unknown word, ``nope`` included, as false.
"""

from __future__ import annotations

import copy
import ipaddress
import math
import os
import re
import socket
import typing as t
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from algolia_api.redaction import redact, register_secret

REGIONS = ("us", "eu")
REGION_HOST = "https://ai-personalization.{region}.algolia.com"
DEFAULT_REQUEST_TIMEOUT = 30
DEFAULT_MAX_RETRIES = 8
#: Bounds of the numeric connection settings (schema ``maximum``): beyond them a
#: value is a typo, and past float or socket range it would crash a request.
MAX_REQUEST_TIMEOUT = 3600
MAX_MAX_RETRIES = 100
#: Most calls per minute a plugin's local budget may allow (both plugins' schema
#: ``maximum``): "no cap" in practice (benchmarks use 10 million), and still a finite spacing.
MAX_REQUESTS_PER_MINUTE = 100_000_000

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
            "Never logged or echoed: masked as **** in every log line."
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
            "emulator. Must be https unless the host is loopback (an IP such as "
            "127.0.0.1, or a localhost name that resolves only to loopback)."
        ),
    ),
    th.Property(
        "request_timeout",
        th.IntegerType(minimum=1, maximum=MAX_REQUEST_TIMEOUT),
        default=DEFAULT_REQUEST_TIMEOUT,
        title="Request timeout",
        description=(
            "Seconds one request may take, from sending it to the last byte of the "
            "answer, before it is retried (1 to 3600)."
        ),
    ),
    th.Property(
        "max_retries",
        th.IntegerType(minimum=0, maximum=MAX_MAX_RETRIES),
        default=DEFAULT_MAX_RETRIES,
        title="Maximum retries",
        description=(
            "Retries of one request after a 408, a 429, a 5xx, a timeout or a dropped "
            "connection, with exponential backoff and jitter (0 to 100)."
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


#: Text a boolean setting may hold, lower-cased: the words singer-sdk's
#: ``--config ENV`` reading counts as true, and their opposites.
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def typed_kind(schema: t.Mapping[str, t.Any]) -> str | None:
    """``boolean``, ``integer`` or ``number`` for a setting read from text, else None."""
    types = schema.get("type", [])
    types = {types} if isinstance(types, str) else set(types)
    for kind in ("boolean", "integer", "number"):
        if kind in types:
            return kind
    return None


def _shown_text(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37]) + "..."


def setting_from_text(name: str, text: str, kind: str) -> bool | int | float:
    """The value of setting ``name`` of ``kind`` written as ``text``; ValueError naming it."""
    if kind == "boolean":
        word = text.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        msg = f"{name} must be true or false (also yes/no, on/off, 1/0), not {_shown_text(text)}"
        raise ValueError(msg)
    if kind == "integer":
        if _INTEGER_TEXT.fullmatch(text):
            return int(text)
        msg = f"{name} must be a whole number such as 100, not {_shown_text(text)}"
        raise ValueError(msg)
    if _NUMBER_TEXT.fullmatch(text):
        number = float(text)
        if math.isfinite(number):
            return number
    msg = f"{name} must be a number such as 0.5, not {_shown_text(text)}"
    raise ValueError(msg)


def read_typed_settings(
    config: t.Mapping[str, t.Any], schema: t.Mapping[str, t.Any]
) -> tuple[dict[str, t.Any], list[str]]:
    """``config`` with each number or boolean setting given as text read, and the errors.

    A setting that cannot be read keeps its text (and the error says why); a
    value that is already JSON is left to the schema.
    """
    properties = schema.get("properties", {})
    out = dict(config)
    errors: list[str] = []
    for name, value in config.items():
        kind = typed_kind(properties.get(name, {}))
        if kind is None or not isinstance(value, str):
            continue
        try:
            out[name] = setting_from_text(name, value, kind)
        except ValueError as exc:
            errors.append(str(exc))
    return out, errors


def env_setting_errors(
    schema: t.Mapping[str, t.Any], prefix: str, environ: t.Mapping[str, str] | None = None
) -> list[str]:
    """Why a ``<PREFIX><SETTING>`` variable of a number or boolean setting cannot be read.

    For ``--config ENV`` (how Meltano runs a plugin command): singer-sdk reads
    these variables itself, a boolean as "true unless unknown", so each is
    checked first, by the same rule as a config file.
    """
    environ = os.environ if environ is None else environ
    errors: list[str] = []
    for name, prop in schema.get("properties", {}).items():
        kind = typed_kind(prop)
        text = environ.get(prefix + name.upper().replace("-", "_"))
        if kind is None or text is None:
            continue
        try:
            setting_from_text(name, text, kind)
        except ValueError as exc:
            errors.append(str(exc))
    return errors


class TypedSettings:
    """Mixin for a plugin class (before the singer-sdk base): settings given as text are read.

    Runs before singer-sdk validates the config, on the config files' content
    and, for ``--config ENV``, on the environment (see :func:`read_typed_settings`).
    With ``validate_config=False`` (``--discover``, ``--about``) nothing is refused.
    """

    name: str

    def __init__(
        self,
        *args: t.Any,
        config: t.Any = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
        **kwargs: t.Any,
    ) -> None:
        schema = copy.deepcopy(type(self).config_jsonschema)  # type: ignore[attr-defined]
        type(self).append_builtin_config(schema)  # type: ignore[attr-defined]
        errors: list[str] = []
        if isinstance(config, dict):
            config, errors = read_typed_settings(config, schema)
        if parse_env_config:
            prefix = type(self).name.upper().replace("-", "_") + "_"
            errors += env_setting_errors(schema, prefix)
        if errors and validate_config:
            raise ConfigValidationError("Invalid settings", errors=errors)
        super().__init__(  # type: ignore[call-arg]
            *args,
            config=config,
            parse_env_config=parse_env_config,
            validate_config=validate_config,
            **kwargs,
        )


def _resolves_to_loopback_only(host: str) -> bool:
    """True if ``host`` resolves, and only to loopback addresses."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(str(address).split("%", 1)[0]).is_loopback for address in addresses
    )


def _is_loopback(host: str) -> bool:
    """A loopback IP literal, or a ``localhost`` name that really resolves to loopback.

    A ``*.localhost`` name is loopback by RFC 6761, but the resolver of a
    host may say otherwise (a hosts file, a DNS search domain): the API key
    would then travel in clear to whatever it names. So it is resolved.
    """
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    name = host.lower().rstrip(".")
    return (name == "localhost" or name.endswith(".localhost")) and _resolves_to_loopback_only(name)


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
            "(plain http is only accepted for a loopback host such as 127.0.0.1, "
            "or a localhost name that resolves only to loopback addresses)"
        )
        raise ValueError(msg)
    if parts.query or parts.fragment or parts.username or parts.password:
        msg = "api_url must not carry credentials, a query or a fragment"
        raise ValueError(msg)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


#: How an error about the key says that it does not quote it.
NOT_SHOWN = "(its value is not shown; copy the key again from the Algolia dashboard)"


def _json_kind(value: t.Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a " + type(value).__name__


def header_value_problem(value: str) -> str | None:
    """Why ``value`` (stripped) cannot be sent as an HTTP header value, or None.

    Header values are Latin-1 text without line breaks or other control
    characters: requests refuses the latter, http.client cannot encode the
    former. Both would otherwise fail at the first request, quoting the value.
    """
    text = value.strip()
    if any(unicodedata.category(char) == "Cc" for char in text):  # C0, DEL and C1
        return (
            "contains a line break or another control character, which an HTTP header cannot carry"
        )
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return (
            "contains a character outside Latin-1: HTTP header values must be Latin-1 "
            "(Algolia keys and application IDs are plain letters and digits)"
        )
    return None


def secret_setting_errors(
    error: ConfigValidationError, schema: t.Mapping[str, t.Any]
) -> ConfigValidationError:
    """``error`` with every JSON-schema message about a secret setting rewritten.

    singer-sdk's schema messages quote the value (``['k3y'] is not of type
    'string' in config['api_key']``); for a setting marked secret the message
    names the setting and the rule, never the value.
    """
    secret_names = [
        name
        for name, prop in schema.get("properties", {}).items()
        if prop.get("secret") or prop.get("writeOnly")
    ]
    errors = []
    for message in error.errors:
        for name in secret_names:
            if message.endswith(f" in config[{name!r}]") or f"config[{name!r}][" in message:
                message = f"{name} must be a string {NOT_SHOWN}"
        errors.append(redact(message))
    return ConfigValidationError(redact(str(error)), errors=errors, schema=error.schema)


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
        if api_key is not None:
            register_secret(api_key)  # masked in every log line from now on
        if not isinstance(app_id, str) or not app_id.strip():
            errors.append("app_id is required: your Algolia application ID")
        elif problem := header_value_problem(app_id):
            errors.append(f"app_id {app_id.strip()!r} {problem}")
        if api_key is not None and not isinstance(api_key, str):
            errors.append(f"api_key must be a string, not {_json_kind(api_key)} {NOT_SHOWN}")
        elif not isinstance(api_key, str) or not api_key.strip():
            errors.append(
                "api_key is required: an Algolia API key with the search, browse "
                "and recommendation ACLs"
            )
        elif problem := header_value_problem(api_key):
            errors.append(f"api_key {problem} {NOT_SHOWN}")
        for name, value in config.items():
            # JSON Schema bounds let NaN through (every comparison with it is false).
            if isinstance(value, float) and not math.isfinite(value) and name != "api_key":
                errors.append(f"{name} must be a finite number, not {value!r}")
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
