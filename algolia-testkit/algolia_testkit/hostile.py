"""A real HTTP server on 127.0.0.1 that answers as a hostile server or proxy would.

Each request is answered by a script function ``(method, path, headers) ->
Answer``: any status, headers and body, sent at once or dripped a few bytes
at a time, headers included. Every request is recorded (with its arrival
time), so a test can count calls and the gaps between them. Connections are
served in daemon threads and every drip loop is bounded by the answer's
length, so a test can never hang on the server.
"""

from __future__ import annotations

import socket
import threading
import time
import typing as t
from dataclasses import dataclass, field


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: Send this many bytes, then sleep ``drip_seconds``, until everything is sent.
    drip_bytes: int = 0
    drip_seconds: float = 0.0
    #: Drip the status line and headers too, not only the body.
    drip_headers: bool = False

    def raw(self) -> tuple[bytes, bytes]:
        reason = {200: "OK", 403: "Forbidden", 429: "Too Many Requests", 502: "Bad Gateway"}
        lines = [f"HTTP/1.1 {self.status} {reason.get(self.status, 'Status')}"]
        headers = {"Content-Length": str(len(self.body)), "Connection": "close", **self.headers}
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), self.body


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    at: float


Script = t.Callable[[str, str, dict[str, str]], Answer]


class HostileServer:
    """``with HostileServer(script) as server: ... server.url ...``"""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[Seen] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                request = self._read_request(conn)
                if request is None:
                    return
                method, path, headers = request
                self.seen.append(Seen(method, path, headers, time.monotonic()))
                answer = self.script(method, path, headers)
                head, body = answer.raw()
                if answer.drip_headers:
                    self._drip(conn, head + body, answer)
                else:
                    conn.sendall(head)
                    self._drip(conn, body, answer)
            except OSError:
                return  # the client gave up (its deadline): what the tests want

    def _drip(self, conn: socket.socket, data: bytes, answer: Answer) -> None:
        if not answer.drip_bytes:
            conn.sendall(data)
            return
        for start in range(0, len(data), answer.drip_bytes):
            if self._stop.is_set():
                return
            conn.sendall(data[start : start + answer.drip_bytes])
            time.sleep(answer.drip_seconds)

    @staticmethod
    def _read_request(conn: socket.socket) -> tuple[str, str, dict[str, str]] | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        return method, path, headers
