"""Dialect, no bug: servers flood "FLOOD <sender> <AT line>" lines and do not send a record back
to its sender; a client-sent AT line gets "? <line>" (the inter-server format is free:
protocol notes 2.8, the FLOOD variant of a student herd)."""

from _base import HerdServer, Invalid, main


class FloodLines(HerdServer):
    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        for peer in self.neighbours:
            if peer != exclude:
                self.queues[peer].put_nowait(b"FLOOD %s %s\n" % (self.name.encode(), at_line))

    async def answer(self, raw: bytes) -> list[bytes]:
        line = self.strip_terminator(raw)
        fields = self.split(line)
        if fields[0] == b"FLOOD" and len(fields) == 8:
            try:
                self.check_at(fields[2:])
            except Invalid:
                return self.error_reply(line)
            client, client_time = fields[5], fields[7]
            if self.is_newer(client, client_time):
                at_line = b" ".join(fields[2:])
                self.table[client] = (client_time, at_line)
                await self.flood(at_line, exclude=fields[1].decode(errors="replace"))
            return []
        if fields[0] == b"AT":
            return self.error_reply(line)  # AT is not this herd's server-to-server format
        return await super().answer(raw)


if __name__ == "__main__":
    main(FloodLines)
