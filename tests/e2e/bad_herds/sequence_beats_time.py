"""One bug: records are ordered by a sequence number, not by their client time (FLOOD-2: a
record replaces the stored one only when its client time is strictly newer). Servers flood
"FLOOD <seq> <AT line>" lines (their own format, as protocol notes 2.8 allow), a connection
per flood, to every neighbour. A server that
takes a client's newer report numbers it one past the number it holds for that client; a flood
with a greater number replaces the stored record whatever its client time, and only one with
a number no greater falls back on the client time. While the herd is whole this is right. After
a split, a server cut off from the rest that took more reports than the other side floods an
older record with a greater number once the split heals, and the other side takes it (the
pattern of a student herd). A client-sent AT line gets "? <line>"."""

from decimal import Decimal

from _base import HerdServer, Invalid, main


class SequenceBeatsTime(HerdServer):
    ephemeral_links = True  # a connection per flood: a neighbour that is down misses it

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.sequence: dict[bytes, int] = {}

    def store_iamat(self, client: bytes, client_time: bytes, at_line: bytes, accepted: bool) -> None:
        if accepted:
            self.sequence[client] = self.sequence.get(client, -1) + 1
        super().store_iamat(client, client_time, at_line, accepted)

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        client = at_line.split()[3]
        await super().flood(b"FLOOD %d %s" % (self.sequence[client], at_line))

    async def answer(self, raw: bytes) -> list[bytes]:
        line = self.strip_terminator(raw)
        fields = self.split(line)
        if fields[0] == b"FLOOD" and len(fields) == 8 and fields[1].isdigit():
            try:
                self.check_at(fields[2:])
            except Invalid:
                return self.error_reply(line)
            number, client, client_time = int(fields[1]), fields[5], fields[7]
            at_line = b" ".join(fields[2:])
            if client not in self.table or number > self.sequence[client]:
                self.sequence[client] = number  # the bug: the number wins over the client time
            elif Decimal(client_time.decode()) > Decimal(self.table[client][0].decode()):
                self.sequence[client] += 2
            else:
                return []
            self.table[client] = (client_time, at_line)
            await self.flood(at_line)
            return []
        if fields[0] == b"AT":
            return self.error_reply(line)  # AT is not this herd's server-to-server format
        return await super().answer(raw)


if __name__ == "__main__":
    main(SequenceBeatsTime)
