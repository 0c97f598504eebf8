"""``herdref places-fixture``: the offline Google Places fixture, run on a loopback port.

The HTTP application (both Nearby Search APIs, the faults, the request record, the control
endpoints) is :mod:`herdref.places.fixture_app`. This module runs it: :class:`FixtureServer` in
the running event loop, :func:`run_fixture_in_thread` for sync code (the checker, sync tests),
and the command, which prints ``places fixture listening on <url>`` and then its endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import math
import signal
import sys
import threading
from types import TracebackType
from typing import Any, cast

from aiohttp import log as aiohttp_log
from aiohttp import web

from herdref.places.fixture_app import (
    FAULT_MODES,
    FaultMode,
    FaultSettings,
    FixtureState,
    RecordedRequest,
    endpoint_lines,
    make_app,
)
from herdref.places.lenient_head import LenientHeadProtocol

__all__ = [
    "FAULT_MODES",
    "FaultMode",
    "FaultSettings",
    "FixtureHandle",
    "FixtureServer",
    "FixtureState",
    "RecordedRequest",
    "add_arguments",
    "make_app",
    "run",
    "run_fixture_in_thread",
]


# ---- running it --------------------------------------------------------------------------


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class FixtureServer:
    """The fixture listening on a loopback port, in the running event loop."""

    def __init__(
        self, state: FixtureState, runner: web.AppRunner, listener: asyncio.Server, host: str, port: int
    ) -> None:
        self.state = state
        self._runner = runner
        self._listener = listener
        self.host = host
        self.port = port
        self.base_url = f"http://{_url_host(host)}:{port}"

    @classmethod
    async def start(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        mode: FaultMode = "none",
        latency_s: float = 0.0,
        access_log: bool = False,
    ) -> FixtureServer:
        """Listen on ``host:port`` (0: any free port); with ``access_log`` each request is logged
        (INFO, on aiohttp's access logger: ``herdref places-fixture -v``).

        Raises:
            OSError: the address cannot be bound (e.g. the port is in use).
        """
        state = FixtureState()
        state.set_fault(mode, latency_s=latency_s)
        state.bind(asyncio.get_running_loop())
        # handler_cancellation: a client that gives up on a hung request frees its handler.
        runner = web.AppRunner(
            make_app(state),
            access_log=aiohttp_log.access_logger if access_log else None,
            handle_signals=False,
            shutdown_timeout=0.5,
            handler_cancellation=True,
        )
        await runner.setup()
        handler_factory = runner.server
        assert handler_factory is not None  # set by setup()
        try:
            # Not web.TCPSite: each connection's handler is wrapped so that request heads with
            # bare-LF line ends are read as Google reads them (herdref.places.lenient_head).
            listener = await asyncio.get_running_loop().create_server(
                lambda: LenientHeadProtocol(handler_factory()), host, port, reuse_address=True
            )
        except BaseException:
            await runner.cleanup()
            raise
        bound_port = int(listener.sockets[0].getsockname()[1])
        return cls(state, runner, listener, host, bound_port)

    async def close(self) -> None:
        self.state.close()
        # Stop accepting, then let the connections accepted in this loop pass be set up before
        # the listener closes: asyncio (3.11) sets an accepted connection up one pass later and,
        # finding its listener closed by then, drops it with its socket left open for good.
        loop = asyncio.get_running_loop()
        for listening in self._listener.sockets:
            loop.remove_reader(listening.fileno())
        await asyncio.sleep(0)
        self._listener.close()
        await self._runner.cleanup()


class FixtureHandle:
    """The fixture running in a thread of its own, for sync code (the checker, sync tests)."""

    def __init__(
        self, server: FixtureServer, loop: asyncio.AbstractEventLoop, thread: threading.Thread
    ) -> None:
        self._server = server
        self._loop = loop
        self._thread = thread
        self.base_url = server.base_url
        self.port = server.port
        self._closed = False

    def requests(self) -> list[dict[str, Any]]:
        """Every recorded request so far, oldest first (the API key redacted)."""
        return cast(list[dict[str, Any]], self._server.state.requests())

    def set_fault(self, mode: str, *, latency_s: float = 0.0) -> None:
        """Switch the fault now; a request hung by ``hang`` is released when the mode changes."""
        self._server.state.set_fault(cast(FaultMode, mode), latency_s=latency_s)

    def reset(self) -> None:
        """Forget the recorded requests and clear the fault."""
        self._server.state.reset()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        asyncio.run_coroutine_threadsafe(self._server.close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> FixtureHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def run_fixture_in_thread(host: str = "127.0.0.1", port: int = 0) -> FixtureHandle:
    """Start the fixture on a thread with its own event loop; returns once it listens.

    Raises:
        OSError: the address cannot be bound.
    """
    loop = asyncio.new_event_loop()
    started: list[FixtureServer | BaseException] = []
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            started.append(loop.run_until_complete(FixtureServer.start(host, port)))
        except BaseException as exc:
            started.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=serve, name="places-fixture", daemon=True)
    thread.start()
    ready.wait()
    outcome = started[0]
    if isinstance(outcome, BaseException):
        thread.join()
        raise outcome
    return FixtureHandle(outcome, loop, thread)


# ---- the command -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument("--fault", choices=FAULT_MODES, default="none", help="fault to start with")
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="S", help="seconds every answer waits (default: 0)"
    )


async def _serve(
    host: str, port: int, mode: FaultMode, latency_s: float, *, quiet: bool = False, verbose: bool = False
) -> int:
    """Serve until SIGTERM/SIGINT. The first stdout line says where (always: scripts wait for
    it); the endpoint list follows unless ``quiet``; ``verbose`` logs each request on stderr."""
    try:
        server = await FixtureServer.start(host, port, mode=mode, latency_s=latency_s, access_log=verbose)
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        print(f"herdref places-fixture: cannot listen on {host}:{port}: {reason}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # The first line is what scripts wait for; the endpoints follow, for a person at a terminal.
    print(f"places fixture listening on {server.base_url}", flush=True)
    if not quiet:
        print("\n".join(f"  {line}" for line in endpoint_lines(server.base_url)), flush=True)
    await stop.wait()
    await server.close()
    return 0


def run(args: argparse.Namespace) -> int:
    if not (math.isfinite(args.latency) and args.latency >= 0):
        print("herdref places-fixture: --latency must be a number >= 0", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65_535:
        print("herdref places-fixture: --port must be in 0..65535", file=sys.stderr)
        return 2
    quiet, verbose = getattr(args, "quiet", False), getattr(args, "verbose", False)
    return asyncio.run(_serve(args.host, args.port, args.fault, args.latency, quiet=quiet, verbose=verbose))
