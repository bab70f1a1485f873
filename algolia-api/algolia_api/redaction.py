"""What a log or error line may carry: one line, a bounded length, never the API key.

Two rules, applied wherever text from outside (a server's answer, a setting,
an exception) becomes a line a user reads:

- **One line.** :func:`one_line` replaces every line break and control
  character (Unicode categories Cc, Zl, Zp, so also U+2028 and U+0085) with a
  space, collapses runs of blanks and cuts the result to a bounded length. A
  proxy's multi-line HTML page then cannot turn one error line into many, nor
  put a line into the log that looks like the plugin's own.
- **Never the key.** :func:`register_secret` records the API key as soon as
  the settings are read; :func:`redact` replaces it with ``****`` in any text,
  and :func:`install_log_redaction` puts a filter on every logging handler, so
  a key that reaches a log record anyway (a server that echoes it, an
  exception that quotes a header) is masked before it is written. A key of 4
  or more characters is masked wherever it appears; a shorter one wherever it
  stands as a whole word (not inside a longer run of letters and digits), so
  a 2-character key does not blank every ordinary word that contains it.
"""

from __future__ import annotations

import logging
import re
import threading
import typing as t
import unicodedata

from typing_extensions import override

MASK = "****"
#: Keys at least this long are masked wherever they appear; shorter ones as whole words.
WHOLE_WORD_BELOW = 4
#: Longest excerpt of a server's body or message that goes into an error line.
EXCERPT_LENGTH = 200

_BLANKS = re.compile(r"\s+")
_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def _is_break(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp")


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` on one line: breaks and control characters blanked, cut to ``limit``."""
    flat = "".join(" " if _is_break(char) else char for char in text)
    flat = _BLANKS.sub(" ", flat).strip()
    if limit is not None and len(flat) > limit:
        flat = flat[: max(limit - 1, 0)].rstrip() + "…"
    return flat


def excerpt(text: str) -> str:
    """A server's body or message as it may appear in an error line: one short line."""
    return redact(one_line(text, EXCERPT_LENGTH))


def _compile(secrets: t.Iterable[str]) -> re.Pattern[str] | None:
    parts = []
    for secret in sorted(secrets, key=len, reverse=True):
        escaped = re.escape(secret)
        if len(secret) < WHOLE_WORD_BELOW:
            escaped = rf"(?<![0-9A-Za-z]){escaped}(?![0-9A-Za-z])"
        parts.append(escaped)
    return re.compile("|".join(parts)) if parts else None


def _texts_inside(value: t.Any) -> set[str]:
    """The strings nested in a list or object given as a key: each may be printed alone."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {text for item in value.items() for part in item for text in _texts_inside(part)}
    if isinstance(value, (list, tuple)):
        return {text for item in value for text in _texts_inside(item)}
    return set()


def register_secret(secret: t.Any) -> None:
    """Mask ``secret`` (its text, whatever its JSON type) in every later :func:`redact`."""
    global _pattern  # one registry per process, as there is one key
    values = {secret} if isinstance(secret, str) else {str(secret), repr(secret)}
    values |= _texts_inside(secret)
    # As a server or a traceback may quote it: with its odd characters escaped.
    values |= {repr(value)[1:-1] for value in _texts_inside(secret)}
    values |= {value.strip() for value in values}
    values = {value for value in values if value}
    if not values:
        return
    with _lock:
        _secrets.update(values)
        _pattern = _compile(_secrets)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``****``."""
    pattern = _pattern
    return text if pattern is None else pattern.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """Masks registered secrets in a record's message and traceback before it is written."""

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is None:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to the handler
            return True
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Put the masking filter on every logging handler that exists now."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    known = logging.Logger.manager.loggerDict.values()
    loggers += [item for item in known if isinstance(item, logging.Logger)]
    handlers = {handler for logger in loggers for handler in logger.handlers}
    if logging.lastResort is not None:
        handlers.add(logging.lastResort)
    for handler in handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
