"""Dialect, no bug: servers flood JSON objects ({"type": "AT", "line": ...}) to each other, and a
client-sent AT line gets "? <line>" (the inter-server format is the student's own design:
protocol notes 2.8, SPEC A13)."""

import json

from _base import HerdServer, Invalid, main


class JsonFloods(HerdServer):
    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        message = json.dumps({"type": "AT", "from": self.name, "line": at_line.decode("latin-1")})
        for peer in self.neighbours:
            if peer != exclude:
                self.queues[peer].put_nowait(message.encode() + b"\n")

    async def answer(self, raw: bytes) -> list[bytes]:
        line = self.strip_terminator(raw)
        if line.lstrip().startswith(b"{"):
            try:
                message = json.loads(line)
                await self.on_at(message["line"].encode("latin-1").split())
            except (ValueError, KeyError, TypeError, AttributeError, Invalid):
                return self.error_reply(line)
            return []
        if self.split(line)[:1] == [b"AT"]:
            return self.error_reply(line)  # AT is not this herd's server-to-server format
        return await super().answer(raw)


if __name__ == "__main__":
    main(JsonFloods)
