"""User-ID format and the opaque page tokens built from user IDs."""

from __future__ import annotations

import base64
import binascii
import re

USER_ID_MAX_LENGTH = 129
_USER_ID = re.compile(r"^[A-Za-z0-9=+/\-_]{1,129}$")

# A version tag inside the token lets the server tell its own tokens from
# garbage, and leaves room to change the encoding without silent misreads.
_TOKEN_PREFIX = "u1:"  # noqa: S105 - a format tag, not a secret


def is_valid_user_id(user_id: str) -> bool:
    return _USER_ID.match(user_id) is not None


def encode_page_token(boundary_user_id: str) -> str:
    raw = (_TOKEN_PREFIX + boundary_user_id).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_page_token(token: str) -> str:
    """Return the boundary user ID inside a token; raise ValueError for anything else."""
    if not token or len(token) > 400:
        raise ValueError("empty or oversized page token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        text = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("page token is not valid base64") from exc
    if not text.startswith(_TOKEN_PREFIX):
        raise ValueError("page token was not issued by this server")
    user_id = text[len(_TOKEN_PREFIX) :]
    if not is_valid_user_id(user_id):
        raise ValueError("page token holds an invalid user ID")
    return user_id
