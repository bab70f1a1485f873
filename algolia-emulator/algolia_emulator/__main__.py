"""Command line: ``algolia-emulator`` / ``python -m algolia_emulator``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .server import EmulatorServer
from .settings import BOUNDS, DEFAULT_APP_ID, default_api_keys


def _api_key(text: str) -> tuple[str, frozenset[str]]:
    key, sep, acls = text.partition("=")
    if not key or not sep:
        raise argparse.ArgumentTypeError("expected KEY=acl1,acl2")
    return key, frozenset(a for a in acls.split(",") if a)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="algolia-emulator",
        description="Serve a local Algolia Advanced Personalization API v2 (with segments).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--users", type=int, default=1000, help="profiles to seed")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rate-limit", type=int, default=500, help="calls per window")
    parser.add_argument("--rate-window", type=float, default=60.0, help="window in seconds")
    parser.add_argument("--bounds", choices=BOUNDS, default="inclusive")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--clock-offset", type=float, default=0.0, help="seconds of server skew")
    parser.add_argument("--state-file", default=None, help="JSON file to load and persist")
    parser.add_argument("--app-id", default=DEFAULT_APP_ID)
    parser.add_argument(
        "--api-key",
        action="append",
        type=_api_key,
        metavar="KEY=ACL,...",
        help="repeatable; replaces the default keys",
    )
    parser.add_argument("--allow-remote", action="store_true", help="permit a non-loopback host")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    keys = dict(args.api_key) if args.api_key else default_api_keys()
    try:
        server = EmulatorServer(
            users=args.users,
            seed=args.seed,
            rate_limit=args.rate_limit,
            rate_window=args.rate_window,
            bounds=args.bounds,
            latency_ms=args.latency_ms,
            state_file=args.state_file,
            host=args.host,
            port=args.port,
            app_id=args.app_id,
            api_keys=keys,
            clock_offset=args.clock_offset,
            allow_remote=args.allow_remote,
            verbose=args.verbose,
        ).start()
    except (ValueError, OSError) as exc:
        print(f"algolia-emulator: {exc}", file=sys.stderr)
        sys.exit(2)

    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    print(
        f"algolia-emulator listening on {server.url} "
        f"(app {server.app_id}, {server.user_count} users)",
        flush=True,
    )
    # Short waits keep the main thread responsive to signals on every platform.
    while not stop.wait(0.5):
        pass
    server.stop()


if __name__ == "__main__":
    main()
