"""The control API under ``/_emulator/``: no auth, no rate limit, no stats."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from .api import validate_segments
from .core import Emulator, Incoming, Reply, error_reply, json_reply, parse_json_body
from .errors import ApiError
from .faults import BodyFault, DropFault, Hold, OverlapFault, StatusFault
from .ids import is_valid_user_id
from .timestamps import parse_rfc3339_ns

PREFIX = "/_emulator"


def _body(req: Incoming) -> dict[str, Any]:
    try:
        payload = parse_json_body(req.body)
    except ValueError as exc:
        raise ApiError(400, "Bad Request", str(exc)) from None
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise ApiError(400, "Bad Request", "body must be a JSON object")
    return payload


def _int(body: dict[str, Any], key: str, default: int | None = None) -> int | None:
    value = body.get(key, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ApiError(400, "Bad Request", f"{key} must be an integer")
    return value


def _number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ApiError(400, "Bad Request", f"{key} must be a number")
    return None if value is None else float(value)


def _user_id(raw: str) -> str:
    user_id = unquote(raw)
    if not is_valid_user_id(user_id):
        raise ApiError(
            400, "Bad Request", "userID must be 1-129 characters of A-Z a-z 0-9 = + / - _"
        )
    return user_id


def _validate_user(user: dict[str, Any]) -> dict[str, Any]:
    """Admin upserts may hold odd data on purpose, but must stay servable."""
    user = dict(user)
    if not isinstance(user.get("userID"), str) or not is_valid_user_id(user["userID"]):
        raise ApiError(400, "Bad Request", "userID is missing or not a valid user ID")
    user.setdefault("type", "basic")
    user.setdefault("affinities", [])
    stamp = user.get("lastUpdatedAt")
    try:
        parse_rfc3339_ns(stamp if isinstance(stamp, str) else "")
    except ValueError:
        raise ApiError(400, "Bad Request", "lastUpdatedAt must be an RFC 3339 date-time") from None
    if not isinstance(user["affinities"], list):
        raise ApiError(400, "Bad Request", "affinities must be a list")
    if "segments" in user and not isinstance(user["segments"], list):
        raise ApiError(400, "Bad Request", "segments must be a list")
    return user


def settings_view(emu: Emulator) -> dict[str, Any]:
    return {
        "appId": emu.settings.app_id,
        "bounds": emu.settings.bounds,
        "rate_limit": emu.limiter.limit,
        "rate_window": emu.limiter.window,
        "latency_ms": emu.settings.latency_ms,
        "clock_offset": emu.settings.clock_offset,
        "segments_beta": emu.settings.segments_beta,
        "users": len(emu.store),
        "seed": emu.seed,
    }


def _apply_settings(emu: Emulator, body: dict[str, Any]) -> None:
    unknown = set(body) - {
        "bounds",
        "rate_limit",
        "rate_window",
        "latency_ms",
        "clock_offset",
        "segments_beta",
    }
    if unknown:
        raise ApiError(400, "Bad Request", f"unknown settings: {sorted(unknown)}")
    try:
        if "bounds" in body:
            emu.settings.set_bounds(str(body["bounds"]))
        limit, window = _int(body, "rate_limit"), _number(body, "rate_window")
        if limit is not None or window is not None:
            emu.limiter.configure(
                limit if limit is not None else emu.limiter.limit,
                window if window is not None else emu.limiter.window,
            )
    except ValueError as exc:
        raise ApiError(400, "Bad Request", str(exc)) from None
    latency = _number(body, "latency_ms")
    if latency is not None:
        if latency < 0:
            raise ApiError(400, "Bad Request", "latency_ms must not be negative")
        emu.settings.latency_ms = latency
    offset = _number(body, "clock_offset")
    if offset is not None:
        emu.settings.clock_offset = offset
    if "segments_beta" in body:
        if not isinstance(body["segments_beta"], bool):
            raise ApiError(400, "Bad Request", "segments_beta must be true or false")
        emu.settings.segments_beta = body["segments_beta"]


def _fault_filter(body: dict[str, Any]) -> dict[str, Any]:
    return {"method": body.get("method"), "path_prefix": body.get("path_prefix")}


def _route(emu: Emulator, req: Incoming) -> Reply:
    parts = req.path[len(PREFIX) :].strip("/").split("/")
    method = req.method
    head = parts[0]

    if head == "health" and method == "GET":
        return json_reply(200, {"status": "ok", "users": len(emu.store)})

    if head in ("reset", "reseed") and method == "POST":
        body = _body(req)
        emu.reseed(_int(body, "users"), _int(body, "seed"))
        if head == "reset":
            emu.faults.clear()
            emu.stats.reset()
            emu.limiter.reset()
        return json_reply(200, {"users": len(emu.store), "seed": emu.seed})

    if head == "users":
        if parts[1:] == ["bulk"] and method == "POST":
            # Benchmarks load 100,000s of profiles: one call, one lock, one save.
            body = _body(req)
            users = body.get("users")
            if not isinstance(users, list) or not all(isinstance(u, dict) for u in users):
                raise ApiError(400, "Bad Request", "users must be a list of profile objects")
            valid = [_validate_user(u) for u in users]
            if body.get("replace"):
                emu.store.replace_all(valid)
            else:
                for user in valid:
                    emu.store.upsert(user)
            emu.persist()
            return json_reply(200, {"users": len(emu.store)})
        if len(parts) == 1 and method == "POST":
            user = emu.store.upsert(_validate_user(_body(req)))
            emu.persist()
            return json_reply(200, user)
        if len(parts) == 1 and method == "DELETE":
            deleted = emu.store.delete_all()
            emu.persist()
            return json_reply(200, {"deleted": deleted})
        if len(parts) == 2:
            user_id = _user_id(parts[1])
            if method == "GET":
                found = emu.store.get(user_id)
                if found is None:
                    raise ApiError(404)
                return json_reply(200, found)
            if method == "DELETE":
                if not emu.store.delete(user_id):
                    raise ApiError(404)
                emu.persist()
                return json_reply(200, {"deleted": 1})
        if len(parts) == 3 and parts[2] == "touch" and method == "POST":
            user_id = _user_id(parts[1])
            stamp = _body(req).get("lastUpdatedAt")
            if stamp is None:
                stamp = emu.stamp()
            try:
                parse_rfc3339_ns(stamp if isinstance(stamp, str) else "")
            except ValueError:
                raise ApiError(400, "Bad Request", "lastUpdatedAt must be RFC 3339") from None
            touched = emu.store.touch(user_id, stamp)
            if touched is None:
                raise ApiError(404)
            emu.persist()
            return json_reply(200, touched)

    if head == "faults":
        if len(parts) == 1 and method == "GET":
            return json_reply(200, emu.faults.as_dict())
        if len(parts) == 1 and method == "DELETE":
            emu.faults.clear()
            return json_reply(200, emu.faults.as_dict())
        if len(parts) == 2 and method == "POST":
            body = _body(req)
            try:
                if parts[1] == "status":
                    status = _int(body, "status")
                    if status is None:
                        raise ApiError(400, "Bad Request", "status is required")
                    emu.faults.add_status(
                        StatusFault(
                            status=status,
                            remaining=_int(body, "count", 1) or 0,
                            retry_after=_int(body, "retry_after"),
                            rate_limit_headers=bool(body.get("rate_limit_headers", True)),
                            message=body.get("message"),
                            after=_int(body, "after", 0) or 0,
                            **_fault_filter(body),
                        )
                    )
                elif parts[1] == "drop":
                    emu.faults.add_drop(
                        DropFault(remaining=_int(body, "count", 1) or 0, **_fault_filter(body))
                    )
                elif parts[1] == "overlap":
                    emu.faults.add_overlap(
                        OverlapFault(
                            remaining=_int(body, "count", 1) or 0,
                            profiles=_int(body, "profiles", 1) or 0,
                        )
                    )
                elif parts[1] == "body":
                    text, headers = body.get("body", ""), body.get("headers") or {}
                    if not isinstance(text, str) or not isinstance(headers, dict):
                        raise ApiError(400, "Bad Request", "body must be text, headers an object")
                    emu.faults.add_body(
                        BodyFault(
                            status=_int(body, "status", 200) or 0,
                            body=text.encode("utf-8", "surrogatepass"),
                            headers={str(k): str(v) for k, v in headers.items()},
                            remaining=_int(body, "count", 1) or 0,
                            path=body.get("path"),
                            **_fault_filter(body),
                        )
                    )
                elif parts[1] == "touch":
                    ids = body.get("user_ids")
                    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                        raise ApiError(400, "Bad Request", "user_ids must be a list of strings")
                    segments = body.get("segments")
                    if segments is not None:
                        segments = validate_segments({"segments": segments})
                    emu.faults.schedule_touch(
                        _int(body, "after_list_calls") or 0,
                        ids,
                        str(body.get("action", "touch")),
                        segments,
                    )
                else:
                    raise ApiError(404)
            except ValueError as exc:
                raise ApiError(400, "Bad Request", str(exc)) from None
            return json_reply(200, emu.faults.as_dict())

    if head == "holds":
        return _holds(emu, parts[1:], method, req)

    if head == "settings" and len(parts) == 1:
        if method in ("POST", "PATCH"):
            _apply_settings(emu, _body(req))
            return json_reply(200, settings_view(emu))
        if method == "GET":
            return json_reply(200, settings_view(emu))

    if head == "stats" and len(parts) == 1:
        if method == "GET":
            return json_reply(200, emu.stats.as_dict())
        if method == "DELETE":
            emu.stats.reset()
            return json_reply(200, emu.stats.as_dict())

    raise ApiError(404)


def _holds(emu: Emulator, parts: list[str], method: str, req: Incoming) -> Reply:
    """Held API calls (test-only timing control, see faults.Hold)."""
    if not parts and method == "GET":
        return json_reply(200, {"holds": emu.faults.holds()})
    if not parts and method == "DELETE":
        emu.faults.release_holds()
        return json_reply(200, {"holds": []})
    if not parts and method == "POST":
        body = _body(req)
        timeout = _number(body, "timeout")
        try:
            hold = emu.faults.add_hold(
                Hold(
                    after=_int(body, "after", 0) or 0,
                    phase=str(body.get("phase", "before")),
                    timeout=30.0 if timeout is None else timeout,
                    **_fault_filter(body),
                )
            )
        except ValueError as exc:
            raise ApiError(400, "Bad Request", str(exc)) from None
        return json_reply(200, hold.view())
    if len(parts) == 2 and method == "POST" and parts[1] in ("wait", "release"):
        try:
            hold = emu.faults.hold(int(parts[0]))
        except (KeyError, ValueError):
            raise ApiError(404) from None
        if parts[1] == "release":
            hold.released.set()
        else:
            wait = _number(_body(req), "timeout")
            hold.arrived.wait(10.0 if wait is None else min(max(wait, 0.0), 60.0))
        return json_reply(200, hold.view())
    raise ApiError(404)


def handle_admin(emu: Emulator, req: Incoming) -> Reply:
    try:
        return _route(emu, req)
    except ApiError as exc:
        return error_reply(exc)
