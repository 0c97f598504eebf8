"""A small, correct asyncio herd server that the broken herds in this folder each break once.

Run one server:  python3 _base.py NAME --config herd.toml

It reads names, ports and links from the herd file (``[servers]``, ``[links] pairs``), keeps a
persistent link to each neighbour (reconnecting with back-off), floods AT lines that are
strictly newer by client time, and asks Places at ``$PLACES_URL`` (Google's host by default)
with the legacy Nearby Search API. Each method below is one decision a student makes; each
broken herd overrides exactly one of them.

Its Places GET is a few lines of asyncio streams (HTTP/1.1, ``Connection: close``, read to EOF),
not aiohttp: importing aiohttp is half a second of CPU, paid by every server that answers a
WHATSAT, and a test run starts thousands of these servers. Herds that need aiohttp's own
behaviour (dialect_new_api_error_refused) take its session from :meth:`HerdServer.places_session`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import time
import tomllib
import urllib.parse
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import aiohttp

LOCATION_RE = re.compile(rb"([+-][0-9]{1,3}(?:\.[0-9]+)?)([+-][0-9]{1,3}(?:\.[0-9]+)?)")
TIME_RE = re.compile(rb"[0-9]+(?:\.[0-9]+)?")
RADIUS_RE = re.compile(rb"[0-9]+(?:\.[0-9]+)?")
BOUND_RE = re.compile(rb"[0-9]+")
TIME_DIFF_RE = re.compile(rb"[+-][0-9]+(?:\.[0-9]+)?")


class PlacesUnavailable(Exception):
    """A Places call failed in aiohttp (a connection refused or reset, an HTTP error read)."""


@contextlib.asynccontextmanager
async def places_call() -> AsyncIterator[None]:
    """Around a Places call: aiohttp's errors become :class:`PlacesUnavailable`."""
    import aiohttp  # loaded by places_session() already

    try:
        yield
    except aiohttp.ClientError as error:
        raise PlacesUnavailable(str(error)) from error


async def http_get(url: str, params: dict[str, str], *, timeout_s: float = 5) -> str:
    """The body of a GET of ``url`` with the query ``params``, as text, whatever the HTTP status
    (as aiohttp's ``response.text()``). A connection that fails is :class:`PlacesUnavailable`;
    one that takes over ``timeout_s`` raises TimeoutError (as aiohttp's total timeout)."""
    parts = urllib.parse.urlsplit(url)
    secure = parts.scheme == "https"
    if secure:
        import ssl  # here: only the herds that call Google's own host need it
    request = (
        f"GET {parts.path}?{urllib.parse.urlencode(params)} HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(
                parts.hostname,
                parts.port or (443 if secure else 80),
                ssl=ssl.create_default_context() if secure else None,
            )
            try:
                writer.write(request.encode())
                response = await reader.read()  # to EOF: the request asked for the close
            finally:
                writer.close()
    except TimeoutError:
        raise
    except OSError as error:
        raise PlacesUnavailable(str(error)) from error
    head, separator, body = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/") or not separator:
        raise PlacesUnavailable(f"not an HTTP response: {response[:80]!r}")
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunked(body)
    return body.decode("utf-8", errors="replace")


def _unchunked(body: bytes) -> bytes:
    """A chunked HTTP body, its chunks joined (RFC 9112 section 7.1)."""
    joined = b""
    while True:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return joined
        joined, body = joined + rest[:size], rest[size + 2 :]


class Invalid(Exception):
    """The line gets '? <line>'."""


class HerdServer:
    def __init__(self, name: str, servers: dict[str, tuple[str, int]], neighbours: list[str]) -> None:
        self.name = name
        self.servers = servers
        self.neighbours = neighbours
        self.table: dict[bytes, tuple[bytes, bytes]] = {}  # client -> (client time, AT line)
        self.queues: dict[str, asyncio.Queue[bytes]] = {peer: asyncio.Queue() for peer in neighbours}
        self.places_url = os.environ.get("PLACES_URL", "https://maps.googleapis.com")
        self.session: aiohttp.ClientSession | None = None
        self.sending: set[asyncio.Task[None]] = set()

    # ---- decisions (each broken herd overrides one) ------------------------------------------

    def split(self, line: bytes) -> list[bytes]:
        return line.split()

    def command_word(self, word: bytes) -> bytes:
        return word

    def strip_terminator(self, line: bytes) -> bytes:
        return line.removesuffix(b"\n").removesuffix(b"\r")

    def time_diff(self, received: float, client_time: bytes) -> bytes:
        diff = Decimal(repr(received)) - Decimal(client_time.decode())
        return f"{diff:+.9f}".encode()

    def echo_time(self, client_time: bytes) -> bytes:
        return client_time

    def echo_location(self, location: bytes) -> bytes:
        return location

    def location_ok(self, location: bytes) -> bool:
        match = LOCATION_RE.fullmatch(location)
        if match is None:
            return False
        latitude, longitude = (Decimal(part.decode()) for part in match.groups())
        return abs(latitude) <= 90 and abs(longitude) <= 180

    def time_ok(self, client_time: bytes) -> bool:
        return TIME_RE.fullmatch(client_time) is not None

    def check_fields(self, fields: list[bytes], count: int) -> None:
        if len(fields) != count:
            raise Invalid

    def radius_ok(self, radius: Decimal) -> bool:
        return 0 < radius <= 50

    def is_newer(self, client: bytes, client_time: bytes) -> bool:
        stored = self.table.get(client)
        return stored is None or Decimal(client_time.decode()) > Decimal(stored[0].decode())

    def accept_iamat(self, client: bytes, client_time: bytes) -> bool:
        """Whether a client's own report replaces what is stored (strictly newer only)."""
        return self.is_newer(client, client_time)

    def store_iamat(self, client: bytes, client_time: bytes, at_line: bytes, accepted: bool) -> None:
        """Keep the record of a client's own report (only when accepted)."""
        if accepted:
            self.table[client] = (client_time, at_line)

    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        """The AT line that answers an IAMAT: always the fresh one (IAMAT-4)."""
        return at_line

    def time_diff_ok(self, time_diff: bytes) -> bool:
        """Whether a received AT line's time difference has the form this herd writes (AT-3)."""
        return TIME_DIFF_RE.fullmatch(time_diff) is not None

    def check_at(self, fields: list[bytes]) -> None:
        """An AT line from a neighbour or a client is checked like an IAMAT (FLOOD-6)."""
        self.check_fields(fields, 6)
        if not self.time_diff_ok(fields[2]) or not self.location_ok(fields[4]):
            raise Invalid
        if not self.time_ok(fields[5]):
            raise Invalid

    def relay(self, at_line: bytes) -> bytes:
        return at_line

    def flood_received(self, stored: bool) -> bool:
        """Whether an AT line that came from a neighbour goes on to the other neighbours."""
        return stored

    def radius_param(self, radius_km: Decimal) -> str:
        """The radius in metres, an integer when whole (PLACES-2: 0.5 km is 500, not 500.0)."""
        return format((radius_km * 1000).normalize(), "f")

    def bound_ok(self, bound: int) -> bool:
        return bound <= 20

    def truncate(self, results: list[object], bound: int) -> list[object]:
        return results[:bound]

    def places_location(self, location: bytes) -> str:
        """The ``lat,lng`` Places query of a stored location, digits unchanged, no ``+``."""
        latitude, longitude = (part.decode().lstrip("+") for part in LOCATION_RE.fullmatch(location).groups())
        return f"{latitude},{longitude}"

    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        """The AT line a WHATSAT reply starts with: the stored one, as received (WHATSAT-5)."""
        return stored[1]

    def whatsat_reply(self, at_line: bytes, body: bytes) -> list[bytes]:
        return [at_line + b"\n", body + b"\n\n"]

    def error_reply(self, line: bytes) -> list[bytes]:
        return [b"? " + line + b"\n"]

    def places_ok(self, body: dict[str, object]) -> bool:
        """Whether a JSON object from Places is passed on (any status: PLACES-3)."""
        return True

    #: What a failed Places call can raise; each is answered with '? <line>' (PLACES-5).
    places_errors: tuple[type[BaseException], ...] = (PlacesUnavailable, TimeoutError, ValueError)
    #: StreamReader limit: the longest line readline() takes (asyncio's default, 64 KiB).
    stream_limit = 2**16

    def format_json(self, body: dict[str, object]) -> bytes:
        text = json.dumps(body, indent=3)
        return re.sub(r"\n+", "\n", text).strip("\n").encode()

    def lookup_missing(self, client: bytes) -> tuple[bytes, bytes]:
        raise Invalid

    async def send_reply(self, writer: asyncio.StreamWriter, parts: list[bytes]) -> None:
        data = b"".join(parts)
        if self.one_line_replies_without_lf and len(parts) == 1:  # an AT or '?' reply
            data = data.removesuffix(b"\n")
        writer.write(data)
        await writer.drain()

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        for peer in self.neighbours:
            if peer == exclude:
                continue
            if self.ephemeral_links:
                task = asyncio.get_running_loop().create_task(self.send_flood(peer, at_line + b"\n"))
                self.sending.add(task)
                task.add_done_callback(self.sending.discard)
            else:
                self.queues[peer].put_nowait(at_line + b"\n")

    async def send_flood(self, peer: str, data: bytes) -> None:
        """One flood on a connection of its own: connect, write, half-close, close."""
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(*self.servers[peer]), 2)
        except (OSError, TimeoutError):
            return  # a neighbour that is down misses the record (no catch-up is required)
        try:
            writer.write(data)
            writer.write_eof()
            await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    reconnect = True
    #: Floods go one connection per record (as most students' herds do) instead of a
    #: persistent link per neighbour; a herd that reads one command per connection needs it.
    ephemeral_links = False
    #: Lenient FRAME-3: answer the first command of a connection, then close it.
    single_shot = False
    #: Lenient AT-1 (or strict-only where the connection stays open): an AT or '?' reply is
    #: written without its final LF, as ``writer.write(reply.encode())`` with no newline does.
    one_line_replies_without_lf = False

    # ---- the protocol -------------------------------------------------------------------------

    def is_blank(self, line: bytes) -> bool:
        return not line.strip()

    async def read_line(self, reader: asyncio.StreamReader) -> bytes:
        """The next line of a connection (empty at EOF)."""
        return await reader.readline()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await self.read_line(reader)
                if not line:
                    break
                if self.is_blank(line):
                    continue
                reply = await self.answer(line)
                if reply:
                    await self.send_reply(writer, reply)
                if self.ends_connection_after(line):
                    break
        finally:
            writer.close()

    def ends_connection_after(self, line: bytes) -> bool:
        """Whether the connection ends once ``line`` is answered (single-shot herds: always)."""
        return self.single_shot

    async def answer(self, raw: bytes) -> list[bytes]:
        line = self.strip_terminator(raw)
        fields = self.split(line)
        command = self.command_word(fields[0])
        try:
            if command == b"IAMAT":
                return await self.on_iamat(fields)
            if command == b"WHATSAT":
                return await self.on_whatsat(fields, line)
            if command == b"AT":
                await self.on_at(fields)
                return []
            raise Invalid
        except Invalid:
            return self.error_reply(line)

    async def on_iamat(self, fields: list[bytes]) -> list[bytes]:
        self.check_fields(fields, 4)
        received = time.time()
        client, location, client_time = fields[1], fields[2], fields[3]
        if not self.location_ok(location) or not self.time_ok(client_time):
            raise Invalid
        echoed = self.echo_time(client_time)
        at_line = b"AT %s %s %s %s %s" % (
            self.name.encode(),
            self.time_diff(received, client_time),
            client,
            self.echo_location(location),
            echoed,
        )
        accepted = self.accept_iamat(client, echoed)
        reply = self.iamat_reply(client, at_line)
        self.store_iamat(client, echoed, at_line, accepted)
        if accepted:
            await self.flood(at_line)
        return [reply + b"\n"]

    async def on_at(self, fields: list[bytes]) -> None:
        self.check_at(fields)
        client, client_time = fields[3], fields[5]
        at_line = b" ".join(fields)
        stored = self.is_newer(client, client_time)
        if stored:
            self.table[client] = (client_time, at_line)
        if self.flood_received(stored):
            await self.flood(self.relay(at_line), exclude=fields[1].decode(errors="replace"))

    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        self.check_fields(fields, 4)
        client, radius_text, bound_text = fields[1], fields[2], fields[3]
        if RADIUS_RE.fullmatch(radius_text) is None or BOUND_RE.fullmatch(bound_text) is None:
            raise Invalid
        radius, bound = Decimal(radius_text.decode()), int(bound_text)
        if not self.radius_ok(radius) or not self.bound_ok(bound):
            raise Invalid
        stored = self.table.get(client) or self.lookup_missing(client)
        at_line = self.whatsat_at_line(client, stored)
        location = stored[1].split(b" ")[4]
        if bound == 0:
            empty = self.format_json({"html_attributions": [], "results": [], "status": "OK"})
            return self.whatsat_reply(at_line, empty)
        try:
            body = await self.places(self.places_location(location), radius)
        except self.places_errors:
            raise Invalid from None
        if not self.places_ok(body):
            raise Invalid
        body["results"] = self.truncate(body.get("results", []), bound)
        return self.whatsat_reply(at_line, self.format_json(body))

    async def places(self, location: str, radius: Decimal) -> dict[str, object]:
        body = json.loads(await self.places_text(location, radius))
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return body

    async def places_text(self, location: str, radius: Decimal) -> str:
        """Google's answer to a Nearby Search, as text."""
        params = {
            "location": location,
            "radius": self.radius_param(radius),
            "key": os.environ.get("PLACES_KEY", "k"),
        }
        return await http_get(f"{self.places_url}/maps/api/place/nearbysearch/json", params)

    def places_session(self) -> aiohttp.ClientSession:
        """The HTTP session for Places, made at the first WHATSAT that needs one."""
        if self.session is None:
            import aiohttp  # here, not at the top: see the module's docstring

            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        return self.session

    # ---- links --------------------------------------------------------------------------------

    async def link(self, peer: str) -> None:
        host, port = self.servers[peer]
        delay = 0.02
        while True:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
                continue
            delay = 0.02
            closed = asyncio.ensure_future(reader.read())
            try:
                while True:
                    item = asyncio.ensure_future(self.queues[peer].get())
                    done, _ = await asyncio.wait({item, closed}, return_when=asyncio.FIRST_COMPLETED)
                    if item not in done:
                        item.cancel()
                        break
                    writer.write(item.result())
                    await writer.drain()
            except OSError:
                pass
            finally:
                closed.cancel()
                writer.close()
            if not self.reconnect:
                return

    async def serve(self) -> None:
        host, port = self.servers[self.name]
        server = await asyncio.start_server(self.handle, host, port, limit=self.stream_limit)
        links = [] if self.ephemeral_links else self.neighbours
        self.link_tasks = [asyncio.get_running_loop().create_task(self.link(peer)) for peer in links]
        async with server:
            await server.serve_forever()


def load_herd(config: str) -> tuple[dict[str, tuple[str, int]], list[list[str]]]:
    """The servers (name -> host, port) and the link pairs of a herd file."""
    with open(config, "rb") as file:
        document = tomllib.load(file)
    servers = {
        name: (entry.get("host", "127.0.0.1"), entry["port"]) for name, entry in document["servers"].items()
    }
    return servers, document.get("links", {}).get("pairs", [])


def neighbours_of(name: str, pairs: list[list[str]]) -> list[str]:
    return [b if a == name else a for a, b in pairs if name in (a, b)]


def main(server_class: type[HerdServer] = HerdServer) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("--config", default=os.environ.get("HERD_CONFIG", "herd.toml"))
    args = parser.parse_args()
    servers, pairs = load_herd(args.config)
    asyncio.run(server_class(args.name, servers, neighbours_of(args.name, pairs)).serve())


if __name__ == "__main__":
    main()
