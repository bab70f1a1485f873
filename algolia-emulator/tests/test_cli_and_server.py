"""The command line, keep-alive HTTP behaviour, concurrency and paging speed."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

import pytest
import requests

from algolia_emulator import DEFAULT_API_KEY, DEFAULT_APP_ID, EmulatorServer

LINE = re.compile(
    r"^algolia-emulator listening on (http://127\.0\.0\.1:(\d+)) \(app (\S+), (\d+) users\)$"
)


def _start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "algolia_emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_prints_url_serves_and_stops_on_sigterm() -> None:
    proc = _start_cli("--port", "0", "--users", "25", "--seed", "1", "--rate-limit", "7")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        match = LINE.match(line)
        assert match, line
        url, _port, app, count = match.groups()
        assert (app, count) == (DEFAULT_APP_ID, "25")
        headers = {"x-algolia-application-id": app, "x-algolia-api-key": DEFAULT_API_KEY}
        response = requests.get(url + "/2/users", headers=headers, params={"limit": 100}, timeout=5)
        assert response.status_code == 200
        assert len(response.json()["users"]) == 25
        assert response.headers["x-ratelimit-limit"] == "7"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_custom_keys_and_sigint() -> None:
    proc = _start_cli("--port", "0", "--users", "3", "--app-id", "MYAPP", "--api-key", "k1=search")
    try:
        assert proc.stdout is not None
        match = LINE.match(proc.stdout.readline().strip())
        assert match
        url = match.group(1)
        weak = requests.get(
            url + "/2/users",
            headers={"x-algolia-application-id": "MYAPP", "x-algolia-api-key": "k1"},
            timeout=5,
        )
        assert weak.status_code == 403
        default = requests.get(
            url + "/2/users",
            headers={"x-algolia-application-id": "MYAPP", "x-algolia-api-key": DEFAULT_API_KEY},
            timeout=5,
        )
        assert default.status_code == 401  # --api-key replaces the default keys
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_refuses_non_loopback_host() -> None:
    proc = _start_cli("--host", "0.0.0.0", "--port", "0", "--users", "1")
    _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 2
    assert "non-loopback" in err


def test_python_api_refuses_non_loopback_host() -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        EmulatorServer(users=1, host="0.0.0.0")


def test_keep_alive_reuses_one_connection(emulator: EmulatorServer) -> None:
    sock = socket.create_connection((emulator.host, emulator.port), timeout=5)
    request = (
        f"GET /2/users?limit=3 HTTP/1.1\r\nHost: x\r\n"
        f"x-algolia-application-id: {emulator.app_id}\r\n"
        f"x-algolia-api-key: {emulator.api_key}\r\n\r\n"
    ).encode()
    reader = sock.makefile("rb")
    try:
        for _ in range(3):
            sock.sendall(request)
            status = reader.readline()
            assert status.startswith(b"HTTP/1.1 200"), status
            length = None
            while (header := reader.readline()) not in (b"\r\n", b""):
                name, _, value = header.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length is not None
            assert reader.read(length).startswith(b'{"users":[')
    finally:
        reader.close()
        sock.close()


def test_stop_closes_idle_keep_alive_connections(emulator_factory: Any) -> None:
    server: EmulatorServer = emulator_factory(users=3)
    session = requests.Session()
    session.headers.update(server.auth_headers)
    url = server.url
    assert session.get(url + "/2/users", timeout=5).status_code == 200
    server.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(url + "/2/users", timeout=5)


def test_concurrent_writes_and_reads(emulator: EmulatorServer) -> None:
    errors: list[BaseException] = []
    ids = [f"user-{i:06d}" for i in range(50)]
    present = [i for i in ids if emulator.admin.get_user(i) is not None][:8]

    def writer(user_id: str) -> None:
        try:
            with requests.Session() as session:
                session.headers.update(emulator.auth_headers)
                for n in range(10):
                    body = {"segments": [{"id": f"s{n}", "source": "meltano"}]}
                    url = f"{emulator.url}/2/users/{user_id}/segments"
                    assert session.put(url, json=body, timeout=5).status_code == 200
                    listed = session.get(emulator.url + "/2/users?limit=1000", timeout=5)
                    assert len(listed.json()["users"]) == 50
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(uid,)) for uid in present]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for uid in present:
        user = emulator.admin.get_user(uid)
        assert user is not None
        assert user["segments"] == [{"id": "s9", "source": "meltano"}]


def test_paging_ten_thousand_users_returns_each_once_in_order(emulator_factory: Any) -> None:
    server: EmulatorServer = emulator_factory(users=10_000, seed=11)
    session = requests.Session()
    session.headers.update(server.auth_headers)
    seen = 0
    token = None
    previous_last = ""
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if token:
            params["nextPageToken"] = token
        body = session.get(server.url + "/2/users", params=params, timeout=10).json()
        seen += len(body["users"])
        assert body["users"][0]["userID"] > previous_last
        previous_last = body["users"][-1]["userID"]
        token = body.get("nextPageToken")
        if not token:
            break
    # Speed of the list endpoint is the benchmarks' business (bench/), not a
    # timed assertion on a shared CI machine.
    assert seen == 10_000
