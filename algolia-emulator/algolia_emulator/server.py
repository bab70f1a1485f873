"""The HTTP layer and the ``EmulatorServer`` object tests and tools start."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from . import admin, api
from .admin_client import AdminClient
from .core import Emulator, Incoming, Reply, error_reply
from .errors import ApiError
from .ratelimit import RateLimiter
from .settings import DEFAULT_APP_ID, Settings, normalise_keys

MAX_BODY_BYTES = 10 * 1024 * 1024


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every reply sets Content-Length
    server_version = "algolia-emulator/0.1"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus
    # delayed ACKs would add ~40 ms to every keep-alive round trip.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def version_string(self) -> str:
        return self.server_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, on the emulated server's clock (``clock_offset``)."""
        if timestamp is None:
            timestamp = time.time() + self.server.emulator.settings.clock_offset
        return super().date_time_string(timestamp)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ApiError(400, "Bad Request", "invalid Content-Length") from None
        if length > MAX_BODY_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        emu = self.server.emulator
        try:
            body = self._read_body()
            raw_path, _, query = self.path.partition("?")
            # Message supports the case-insensitive .get() that handlers rely on.
            headers: Any = self.headers
            incoming = Incoming(self.command, raw_path, query, headers, body)
            if raw_path == admin.PREFIX or raw_path.startswith(admin.PREFIX + "/"):
                reply = admin.handle_admin(emu, incoming)
            else:
                reply = api.handle_api(emu, incoming)
        except ApiError as exc:
            self.close_connection = True  # the body may not have been read
            reply = error_reply(exc)
        except Exception:  # a bug must not kill the connection thread silently
            self.log_error("unhandled error for %s %s", self.command, self.path)
            reply = error_reply(ApiError(500))
        if reply.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        if reply.body:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if reply.body and self.command != "HEAD":
            self.wfile.write(reply.body)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: Emulator, verbose: bool) -> None:
        self.emulator = emulator
        self.verbose = verbose
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (a killed plugin, a timeout) is
        # routine here, not a server fault worth a traceback.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)

    def close_open_connections(self) -> None:
        """Cut idle keep-alive sockets so a stopped server really stops answering."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class EmulatorServer:
    """An emulator on a loopback port, in a background thread of this process."""

    def __init__(
        self,
        users: int = 100,
        seed: int = 42,
        rate_limit: int = 500,
        rate_window: float = 60.0,
        bounds: str = "inclusive",
        latency_ms: float = 0.0,
        state_file: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        app_id: str = DEFAULT_APP_ID,
        api_keys: Mapping[str, Iterable[str]] | None = None,
        clock_offset: float = 0.0,
        allow_remote: bool = False,
        verbose: bool = False,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise ValueError(f"refusing to listen on non-loopback host {host!r}")
        settings = Settings(
            app_id=app_id,
            api_keys=normalise_keys(api_keys),
            bounds=bounds,
            latency_ms=latency_ms,
            clock_offset=clock_offset,
        )
        self.emulator = Emulator(
            users=users,
            seed=seed,
            settings=settings,
            limiter=RateLimiter(rate_limit, rate_window),
            state_file=state_file,
        )
        self._host, self._requested_port, self._verbose = host, port, verbose
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorServer:
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self._host, self._requested_port), self.emulator, self._verbose)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.5},
            name=f"algolia-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        # Pre-serializing in the background keeps the first full sync of a
        # large data set as fast as later ones; requests interleave freely.
        threading.Thread(
            target=self.emulator.store.warm_cache, name="algolia-emulator:warm", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self.emulator.faults.release_holds()  # a held call must not outlive its server
        # serve_forever only notices a shutdown request when select() returns;
        # poking the listening socket wakes it at once instead of after the
        # poll interval, which keeps per-test teardown in the milliseconds.
        port = int(httpd.server_address[1])
        stopper = threading.Thread(target=httpd.shutdown, daemon=True)
        stopper.start()
        while stopper.is_alive():
            with contextlib.suppress(OSError):
                socket.create_connection((self._host, port), timeout=0.2).close()
            stopper.join(0.01)
        httpd.close_open_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the emulator is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def app_id(self) -> str:
        return self.emulator.settings.app_id

    @property
    def api_key(self) -> str:
        return self.emulator.settings.full_access_key()

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"x-algolia-application-id": self.app_id, "x-algolia-api-key": self.api_key}

    @property
    def user_count(self) -> int:
        return len(self.emulator.store)

    @property
    def admin(self) -> AdminClient:
        return AdminClient(self.url)
