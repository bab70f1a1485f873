"""Algolia's Advanced Personalization API v2 plus the beta segments write.

The request pipeline is: dropped-connection fault, latency, status fault,
odd-answer (body) fault, authentication, rate limit, ACL, routing, handler. Statuses follow the
vendored OpenAPI file where it documents them (for example ``GET /2/users``
documents 422, not 400, for bad query parameters).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

from . import errors
from .core import Emulator, Incoming, Reply, error_reply, json_reply, parse_json_body
from .errors import ApiError
from .ids import decode_page_token, encode_page_token, is_valid_user_id
from .ratelimit import Decision
from .settings import REQUIRED_ACLS
from .store import ListQuery
from .timestamps import parse_rfc3339_ns

SEGMENT_FIELD_MAX = 256

Handler = Callable[[Emulator, Incoming, str | None], Reply]


def _route(method: str, path: str) -> tuple[str, str | None, Handler | None]:
    """Return (route template, raw user-ID segment, handler) for a request."""
    parts = path.split("/")
    handler: Handler | None = None
    raw_id: str | None = None
    template = "(unmatched)"
    if parts[:3] == ["", "2", "users"]:
        if len(parts) == 3:
            template = "/2/users"
            handler = _list_users if method == "GET" else None
        elif len(parts) == 4:
            template, raw_id = "/2/users/{userID}", parts[3]
            handler = {"GET": _get_user, "DELETE": _delete_user}.get(method)
        elif len(parts) == 5 and parts[4] == "segments":
            template, raw_id = "/2/users/{userID}/segments", parts[3]
            handler = _put_segments if method == "PUT" else None
    elif parts == ["", "2", "config"]:
        template = "/2/config"
        handler = _get_config if method == "GET" else None
    if handler is None:
        template = "(unmatched)"
    return template, raw_id, handler


def _decode_user_id(raw: str) -> str:
    try:
        user_id = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise ApiError(
            400, errors.BAD_USER_ID, "userID is not valid percent-encoded UTF-8"
        ) from None
    if not is_valid_user_id(user_id):
        raise ApiError(
            422,
            errors.INVALID_USER_ID,
            "userID must be 1-129 characters of A-Z a-z 0-9 = + / - _",
        )
    return user_id


def handle_api(emu: Emulator, req: Incoming) -> Reply:
    template, raw_id, handler = _route(req.method, req.path)
    route = f"{req.method} {template}"
    user_id: str | None = None
    if raw_id is not None and handler is not None:
        try:
            user_id = unquote(raw_id, errors="strict")
        except UnicodeDecodeError:
            user_id = None

    if emu.faults.take_drop(req.method, req.path):
        emu.stats.record(route, None)
        return Reply(0, drop=True)
    held = emu.faults.take_hold(req.method, req.path)
    if held is not None and held.phase == "before":
        held.wait_here()
    if emu.settings.latency_ms > 0:
        time.sleep(emu.settings.latency_ms / 1000.0)
    reply = _serve(emu, req, handler, raw_id)
    emu.stats.record(route, reply.status, user_id)
    if held is not None and held.phase == "after":
        held.wait_here()
    return reply


def _serve(emu: Emulator, req: Incoming, handler: Handler | None, raw_id: str | None) -> Reply:
    app_id = req.headers.get("x-algolia-application-id") or ""
    skew = emu.settings.clock_offset

    fault = emu.faults.take_status(req.method, req.path)
    if fault is not None:
        emu.stats.count_injected()
        headers = emu.limiter.peek(app_id, skew).headers() if fault.rate_limit_headers else {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return json_reply(
            fault.status,
            {
                "message": fault.message or errors.REASONS.get(fault.status, "Error"),
                "status": fault.status,
            },
            headers,
        )

    odd = emu.faults.take_body(req.method, req.path)
    if odd is not None:
        emu.stats.count_injected()
        return Reply(odd.status, odd.body, dict(odd.headers))

    api_key = req.headers.get("x-algolia-api-key") or ""
    if app_id != emu.settings.app_id or api_key not in emu.settings.api_keys:
        # Unauthenticated calls do not use up the application's quota.
        return error_reply(ApiError(401), emu.limiter.peek(app_id, skew).headers())

    decision: Decision = emu.limiter.hit(app_id, skew)
    limit_headers = decision.headers()
    if not decision.allowed:
        limit_headers["Retry-After"] = str(decision.retry_after)
        return error_reply(ApiError(429), limit_headers)
    if not emu.settings.api_keys[api_key] >= REQUIRED_ACLS:
        return error_reply(
            ApiError(403, detail="key needs search, browse and recommendation"), limit_headers
        )
    if handler is None:
        return error_reply(ApiError(404), limit_headers)
    try:
        reply = handler(emu, req, raw_id)
    except ApiError as exc:
        return error_reply(exc, limit_headers)
    reply.headers.update(limit_headers)
    return reply


# -- GET /2/users -------------------------------------------------------------


def _unprocessable(detail: str) -> ApiError:
    return ApiError(422, errors.UNPROCESSABLE, detail)


def _first(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _csv(params: dict[str, list[str]], name: str) -> list[str]:
    return [item for value in params.get(name, []) for item in value.split(",") if item]


def _parse_list_query(emu: Emulator, query: str) -> ListQuery:
    params = parse_qs(query, keep_blank_values=True)
    limit = 10
    raw_limit = _first(params, "limit")
    if raw_limit is not None:
        if not raw_limit.isascii() or not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
            raise _unprocessable("limit must be an integer from 1 to 1000")
        limit = int(raw_limit)

    next_token, prev_token = _first(params, "nextPageToken"), _first(params, "previousPageToken")
    if next_token is not None and prev_token is not None:
        raise _unprocessable("nextPageToken and previousPageToken cannot be combined")
    try:
        after = decode_page_token(next_token) if next_token is not None else None
        before = decode_page_token(prev_token) if prev_token is not None else None
    except ValueError as exc:
        raise _unprocessable(f"invalid page token: {exc}") from None

    bounds: dict[str, int | None] = {}
    for name in ("startDate", "endDate"):
        raw = _first(params, name)
        try:
            bounds[name] = parse_rfc3339_ns(raw) if raw is not None else None
        except ValueError:
            raise _unprocessable(f"{name} must be an RFC 3339 date-time") from None

    affinity: list[tuple[str, str | None]] = []
    for term in _csv(params, "affinity"):
        name, sep, value = term.partition(":")
        if not name:
            raise _unprocessable("affinity terms are name or name:value")
        affinity.append((name, value if sep else None))

    return ListQuery(
        limit=limit,
        after=after,
        before=before,
        start_ns=bounds["startDate"],
        end_ns=bounds["endDate"],
        inclusive=emu.settings.inclusive,
        indices=tuple(_csv(params, "indices")),
        affinity=tuple(affinity),
    )


def _without_segments(blob: bytes) -> bytes:
    """A stored profile as an application without the segments beta serves it."""
    user = json.loads(blob)
    user.pop("segments", None)
    return json.dumps(user, separators=(",", ":")).encode()


def _list_users(emu: Emulator, req: Incoming, _raw_id: str | None) -> Reply:
    query = _parse_list_query(emu, req.query)
    page = emu.store.list_page(query)
    blobs = page.blobs if emu.settings.segments_beta else map(_without_segments, page.blobs)
    parts = [b'{"users":[', b",".join(blobs), b"]"]
    if page.has_next and page.last_id is not None:
        boundary = page.last_id
        overlap = emu.faults.take_overlap()
        if overlap:  # the next page starts again ``overlap`` profiles back
            boundary = emu.store.id_before(page.last_id, overlap)
        parts.append(b',"nextPageToken":"' + encode_page_token(boundary).encode() + b'"')
    if page.has_previous and page.first_id is not None:
        parts.append(b',"previousPageToken":"' + encode_page_token(page.first_id).encode() + b'"')
    parts.append(b"}")
    # The page above was built before any scheduled touch fires, so a test
    # knows exactly which response still shows the old timestamps.
    due = emu.faults.list_call_served()
    for edit in due:
        if edit.action == "delete":
            for user_id in edit.user_ids:
                emu.store.delete(user_id)
        elif edit.action == "segments":
            for user_id in edit.user_ids:
                emu.store.set_segments(user_id, edit.segments or [], emu.stamp())
        else:
            emu.store.touch_many(edit.user_ids, emu.stamp())
    if due:
        emu.persist()
    return Reply(200, b"".join(parts), {})


# -- /2/users/{userID} ----------------------------------------------------------


def _get_user(emu: Emulator, _req: Incoming, raw_id: str | None) -> Reply:
    user_id = _decode_user_id(raw_id or "")
    blob = emu.store.get_serialized(user_id)
    if blob is None:
        raise ApiError(404)
    return Reply(200, blob if emu.settings.segments_beta else _without_segments(blob), {})


def _delete_user(emu: Emulator, _req: Incoming, raw_id: str | None) -> Reply:
    user_id = _decode_user_id(raw_id or "")
    # The spec documents no 404 here, so deleting an absent profile succeeds
    # (idempotent). The emulator forgets at once, so deletedUntil is now too.
    existed = emu.store.delete(user_id)
    if existed:
        emu.persist()
    now = emu.stamp()
    return json_reply(
        200,
        {
            "userID": user_id,
            "deletedAt": now,
            "deletedUntil": now,
            "message": "User profile deleted" if existed else "User profile not found",
            "status": 200,
        },
    )


def validate_segments(payload: Any) -> list[dict[str, str]]:
    def bad(detail: str) -> ApiError:
        return ApiError(400, errors.INVALID_BODY, detail)

    if not isinstance(payload, dict) or not isinstance(payload.get("segments"), list):
        raise bad('body must be a JSON object with a "segments" list')
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, str]] = []
    for position, item in enumerate(payload["segments"]):
        if not isinstance(item, dict) or set(item) != {"id", "source"}:
            raise bad(f"segments[{position}] must be an object with exactly id and source")
        seg_id, source = item["id"], item["source"]
        for name, value in (("id", seg_id), ("source", source)):
            if not isinstance(value, str) or not 1 <= len(value) <= SEGMENT_FIELD_MAX:
                raise bad(f"segments[{position}].{name} must be a string of 1-256 characters")
        if (seg_id, source) in seen:
            raise bad(f"segments[{position}] repeats the pair ({seg_id!r}, {source!r})")
        seen.add((seg_id, source))
        out.append({"id": seg_id, "source": source})
    return out


def _put_segments(emu: Emulator, req: Incoming, raw_id: str | None) -> Reply:
    if not emu.settings.segments_beta:
        raise ApiError(404)  # no such endpoint without the beta
    user_id = _decode_user_id(raw_id or "")
    try:
        payload = parse_json_body(req.body)
    except ValueError as exc:
        raise ApiError(400, errors.INVALID_BODY, str(exc)) from None
    segments = validate_segments(payload)
    stamp = emu.stamp()
    user = emu.store.set_segments(user_id, segments, stamp)
    if user is None:
        raise ApiError(404)  # the endpoint never creates a profile
    emu.persist()
    return json_reply(200, {"userID": user_id, "segments": user["segments"], "updatedAt": stamp})


# -- GET /2/config ----------------------------------------------------------------


def _events() -> dict[str, Any]:
    return {
        "viewDetails": [{"type": "view", "name": "Product Viewed"}],
        "viewListing": [{"type": "view", "name": "Listing Viewed"}],
        "addToCart": [{"type": "conversion", "subtype": "addToCart", "name": "Added To Cart"}],
        "purchase": [{"type": "conversion", "subtype": "purchase", "name": "Purchased"}],
    }


def _get_config(_emu: Emulator, _req: Incoming, _raw_id: str | None) -> Reply:
    stamp = "2026-08-01T00:00:00Z"
    indices = [
        {
            "index": name,
            "affinities": ["brand", "category", "color"],
            "source": {"type": "insights", "events": _events()},
            "errors": [],
            "warnings": [],
            "lastUpdatedAt": stamp,
        }
        for name in ("products", "products_EN", "products_FR")
    ]
    config = {
        "indices": indices,
        "personalizationReRanking": "medium",
        # Quirk of the published schema: configurationObject.required lists the
        # misspelled "personalzationReRanking" while its properties spell it
        # correctly. Both keys are sent so the response validates as published
        # and clients reading the correct spelling still find it.
        "personalzationReRanking": "medium",
        "profileType": "basic",
        "status": {"type": "active", "errors": [], "lastUpdatedAt": stamp},
        "features": {"realtime": {"enabled": False}},
    }
    return json_reply(200, config)
