"""Dialect, no bug: servers flood the AT line with the sender's name as a seventh field, and read
any line that starts with AT by position, its last field taken for the sender: a six-field AT
line (a client's, or a checker's posing as a neighbour) is kept as a record without its client
time (the inter-server format is free: protocol notes 2.8; a student herd read them so). What
it does with an older record from a neighbour cannot be seen from such lines: flood-older-ignored
must say so (UNSUPPORTED), not PASS on a record it cannot read."""

from _base import HerdServer, main


class SenderLastField(HerdServer):
    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        for peer in self.neighbours:
            if peer != exclude:
                self.queues[peer].put_nowait(b"%s %s\n" % (at_line, self.name.encode()))

    async def answer(self, raw: bytes) -> list[bytes]:
        line = self.strip_terminator(raw)
        fields = self.split(line)
        if fields[:1] != [b"AT"] or len(fields) < 6:
            return await super().answer(raw)
        *record, sender = fields  # the last field is the sender, whatever the line's length
        client, client_time = record[3], record[5] if len(record) > 5 else b""
        if len(record) == 6 and not self.is_newer(client, client_time):
            return []
        at_line = b" ".join(record)
        self.table[client] = (client_time, at_line)
        if len(record) == 6:
            await self.flood(at_line, exclude=sender.decode(errors="replace"))
        return []


if __name__ == "__main__":
    main(SenderLastField)
