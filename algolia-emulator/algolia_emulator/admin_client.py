"""``AdminClient``: drive a running emulator's control API with only the stdlib."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote


class AdminError(RuntimeError):
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        super().__init__(f"emulator admin call failed with {status}: {body}")


class AdminClient:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the URL is the emulator's own
            f"{self.url}/_emulator{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                parsed: Any = json.loads(raw)
            except ValueError:
                parsed = raw.decode("utf-8", "replace")
            raise AdminError(exc.code, parsed) from None

    @staticmethod
    def _user_path(user_id: str) -> str:
        return "/users/" + quote(user_id, safe="")

    # -- data --------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def reset(self, users: int | None = None, seed: int | None = None) -> dict[str, Any]:
        """Reseed and also clear faults, stats and rate-limit windows."""
        return self._call("POST", "/reset", _drop_none(users=users, seed=seed))

    def reseed(self, users: int | None = None, seed: int | None = None) -> dict[str, Any]:
        return self._call("POST", "/reseed", _drop_none(users=users, seed=seed))

    def upsert_user(self, user: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/users", user)

    def load_users(self, users: list[dict[str, Any]], *, replace: bool = False) -> int:
        """Upsert many profiles in one call (``replace``: they become the whole store)."""
        return int(self._call("POST", "/users/bulk", {"users": users, "replace": replace})["users"])

    def get_user(self, user_id: str) -> dict[str, Any] | None:
        try:
            return self._call("GET", self._user_path(user_id))
        except AdminError as exc:
            if exc.status == 404:
                return None
            raise

    def delete_user(self, user_id: str) -> bool:
        try:
            self._call("DELETE", self._user_path(user_id))
        except AdminError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def delete_all_users(self) -> int:
        return int(self._call("DELETE", "/users")["deleted"])

    def touch(self, user_id: str, last_updated_at: str | None = None) -> dict[str, Any]:
        """Set lastUpdatedAt to the server's now, or to the given string verbatim."""
        body = _drop_none(lastUpdatedAt=last_updated_at)
        return self._call("POST", self._user_path(user_id) + "/touch", body)

    # -- faults ------------------------------------------------------------

    def inject_status(
        self,
        status: int,
        count: int = 1,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        retry_after: int | None = None,
        rate_limit_headers: bool = True,
        message: str | None = None,
        after: int | None = None,
    ) -> dict[str, Any]:
        """Answer ``count`` matching requests with ``status``, after letting ``after`` through."""
        body = _drop_none(
            status=status,
            count=count,
            after=after,
            method=method,
            path_prefix=path_prefix,
            retry_after=retry_after,
            message=message,
        )
        body["rate_limit_headers"] = rate_limit_headers
        return self._call("POST", "/faults/status", body)

    def drop_connections(
        self, count: int = 1, *, method: str | None = None, path_prefix: str | None = None
    ) -> dict[str, Any]:
        body = _drop_none(count=count, method=method, path_prefix=path_prefix)
        return self._call("POST", "/faults/drop", body)

    def overlap_pages(self, count: int = 1, *, profiles: int = 1) -> dict[str, Any]:
        """The next ``count`` list pages: the page after each repeats its last ``profiles``."""
        return self._call("POST", "/faults/overlap", {"count": count, "profiles": profiles})

    def inject_body(
        self,
        body: str,
        status: int = 200,
        count: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        path_prefix: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Answer ``count`` matching requests with ``status`` and ``body`` as is (see BodyFault)."""
        payload = _drop_none(
            body=body,
            status=status,
            count=count,
            method=method,
            path=path,
            path_prefix=path_prefix,
            headers=headers,
        )
        return self._call("POST", "/faults/body", payload)

    def schedule_touch(
        self,
        after_list_calls: int,
        user_ids: list[str],
        *,
        action: str = "touch",
        segments: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """After that many served ``GET /2/users``, touch, delete or re-segment the profiles.

        The page that triggers the edit was built before it, so a client holds
        the old copy: this is another system's write landing mid-sync.
        """
        body: dict[str, Any] = {
            "after_list_calls": after_list_calls,
            "user_ids": list(user_ids),
            "action": action,
        }
        if segments is not None:
            body["segments"] = segments
        return self._call("POST", "/faults/touch", body)

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "/faults")

    def clear_faults(self) -> dict[str, Any]:
        return self._call("DELETE", "/faults")

    # -- held calls (test-only timing control) -----------------------------

    def hold_request(
        self,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        after: int = 0,
        phase: str = "before",
        timeout: float = 30.0,
    ) -> int:
        """Hold the matching API call after ``after`` others; returns the hold's id.

        ``phase`` "before": held before it is served; "after": served, its answer held.
        """
        body = _drop_none(
            method=method, path_prefix=path_prefix, after=after, phase=phase, timeout=timeout
        )
        return int(self._call("POST", "/holds", body)["id"])

    def wait_for_hold(self, hold_id: int, timeout: float = 10.0) -> bool:
        """Wait until the held call has arrived at its step; True if it has."""
        return bool(self._call("POST", f"/holds/{hold_id}/wait", {"timeout": timeout})["arrived"])

    def release_hold(self, hold_id: int) -> dict[str, Any]:
        return self._call("POST", f"/holds/{hold_id}/release")

    def holds(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/holds")["holds"])

    def release_holds(self) -> None:
        self._call("DELETE", "/holds")

    # -- settings and stats ------------------------------------------------

    def set_latency(self, ms: float) -> dict[str, Any]:
        return self.set_settings(latency_ms=ms)

    def set_settings(
        self,
        *,
        bounds: str | None = None,
        rate_limit: int | None = None,
        rate_window: float | None = None,
        latency_ms: float | None = None,
        clock_offset: float | None = None,
        segments_beta: bool | None = None,
    ) -> dict[str, Any]:
        body = _drop_none(
            bounds=bounds,
            rate_limit=rate_limit,
            rate_window=rate_window,
            latency_ms=latency_ms,
            clock_offset=clock_offset,
            segments_beta=segments_beta,
        )
        return self._call("PATCH", "/settings", body)

    def settings(self) -> dict[str, Any]:
        return self._call("GET", "/settings")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def reset_stats(self) -> dict[str, Any]:
        return self._call("DELETE", "/stats")


def _drop_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
