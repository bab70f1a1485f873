"""Optional JSON state file so profiles survive an emulator restart."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from .store import UserStore


class StateFile:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._write_lock = threading.Lock()
        self._written_version = -1

    def load(self) -> list[dict[str, Any]] | None:
        """Profiles from the file, or None when there is no file yet."""
        if not self.path.exists():
            return None
        data = json.loads(self.path.read_text(encoding="utf-8"))
        users = data["users"] if isinstance(data, dict) else data
        if not isinstance(users, list):
            raise ValueError(f"{self.path}: expected a list of users")
        return users

    def save(self, store: UserStore) -> None:
        """Write the store atomically; a reader never sees a half-written file."""
        version, users_json = store.snapshot()
        # Serialising happens under the store lock, writing does not; the
        # version check keeps a slow older write from replacing a newer one.
        with self._write_lock:
            if version <= self._written_version:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(b'{"format":"algolia-emulator/1","users":')
                    fh.write(users_json)
                    fh.write(b"}\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._written_version = version
