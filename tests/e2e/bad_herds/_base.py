"""A small, correct asyncio herd server that the broken herds in this folder each break once.

Run one server:  python3 _base.py NAME --config herd.toml

It reads names, ports and links from the herd file (``[servers]``, ``[links] pairs``), keeps a
persistent link to each neighbour (reconnecting with back-off), floods AT lines that are
strictly newer by client time, and asks Places at ``$PLACES_URL`` (Google's host by default)
with the legacy Nearby Search API. Each method below is one decision a student makes; each
broken herd overrides exactly one of them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import time
import tomllib
from decimal import Decimal

import aiohttp

LOCATION_RE = re.compile(rb"([+-][0-9]{1,3}(?:\.[0-9]+)?)([+-][0-9]{1,3}(?:\.[0-9]+)?)")
TIME_RE = re.compile(rb"[0-9]+(?:\.[0-9]+)?")
RADIUS_RE = re.compile(rb"[0-9]+(?:\.[0-9]+)?")
BOUND_RE = re.compile(rb"[0-9]+")


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

    def relay(self, at_line: bytes) -> bytes:
        return at_line

    def flood_received(self, stored: bool) -> bool:
        """Whether an AT line that came from a neighbour goes on to the other neighbours."""
        return stored

    def radius_param(self, radius_km: Decimal) -> str:
        return str(radius_km * 1000)

    def truncate(self, results: list[object], bound: int) -> list[object]:
        return results[:bound]

    def format_json(self, body: dict[str, object]) -> bytes:
        text = json.dumps(body, indent=3)
        return re.sub(r"\n+", "\n", text).strip("\n").encode()

    def lookup_missing(self, client: bytes) -> tuple[bytes, bytes]:
        raise Invalid

    async def send_reply(self, writer: asyncio.StreamWriter, parts: list[bytes]) -> None:
        writer.write(b"".join(parts))
        await writer.drain()

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        for peer in self.neighbours:
            if peer != exclude:
                self.queues[peer].put_nowait(at_line + b"\n")

    reconnect = True

    # ---- the protocol -------------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                if not line.strip():
                    continue
                reply = await self.answer(line)
                if reply:
                    await self.send_reply(writer, reply)
        finally:
            writer.close()

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
            return [b"? " + line + b"\n"]

    async def on_iamat(self, fields: list[bytes]) -> list[bytes]:
        self.check_fields(fields, 4)
        received = time.time()
        client, location, client_time = fields[1], fields[2], fields[3]
        if LOCATION_RE.fullmatch(location) is None or TIME_RE.fullmatch(client_time) is None:
            raise Invalid
        latitude, longitude = (Decimal(part.decode()) for part in LOCATION_RE.fullmatch(location).groups())
        if abs(latitude) > 90 or abs(longitude) > 180:
            raise Invalid
        echoed = self.echo_time(client_time)
        at_line = b"AT %s %s %s %s %s" % (
            self.name.encode(),
            self.time_diff(received, client_time),
            client,
            location,
            echoed,
        )
        if self.accept_iamat(client, echoed):
            self.table[client] = (echoed, at_line)
            await self.flood(at_line)
        return [at_line + b"\n"]

    async def on_at(self, fields: list[bytes]) -> None:
        self.check_fields(fields, 6)
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
        if not self.radius_ok(radius) or bound > 20:
            raise Invalid
        stored = self.table.get(client) or self.lookup_missing(client)
        at_line = stored[1]
        location = at_line.split(b" ")[4]
        latitude, longitude = (part.decode().lstrip("+") for part in LOCATION_RE.fullmatch(location).groups())
        if bound == 0:
            return [
                at_line + b"\n",
                self.format_json({"html_attributions": [], "results": [], "status": "OK"}) + b"\n\n",
            ]
        try:
            body = await self.places(f"{latitude},{longitude}", radius)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise Invalid from None
        body["results"] = self.truncate(body.get("results", []), bound)
        return [at_line + b"\n", self.format_json(body) + b"\n\n"]

    async def places(self, location: str, radius: Decimal) -> dict[str, object]:
        if self.session is None:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        params = {
            "location": location,
            "radius": self.radius_param(radius),
            "key": os.environ.get("PLACES_KEY", "k"),
        }
        url = f"{self.places_url}/maps/api/place/nearbysearch/json"
        async with self.session.get(url, params=params) as response:
            body = await response.json(content_type=None)
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return body

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
        server = await asyncio.start_server(self.handle, host, port)
        for peer in self.neighbours:
            asyncio.get_running_loop().create_task(self.link(peer))
        async with server:
            await server.serve_forever()


def main(server_class: type[HerdServer] = HerdServer) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("--config", default=os.environ.get("HERD_CONFIG", "herd.toml"))
    args = parser.parse_args()
    with open(args.config, "rb") as file:
        document = tomllib.load(file)
    servers = {
        name: (entry.get("host", "127.0.0.1"), entry["port"]) for name, entry in document["servers"].items()
    }
    pairs = document.get("links", {}).get("pairs", [])
    neighbours = [b if a == args.name else a for a, b in pairs if args.name in (a, b)]
    asyncio.run(server_class(args.name, servers, neighbours).serve())


if __name__ == "__main__":
    main()
