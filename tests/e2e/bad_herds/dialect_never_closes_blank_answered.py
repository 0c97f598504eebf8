"""Dialect, no bug the course forbids: a line loop that never closes its side of a connection,
even after the client half-closed, and answers a blank line as an invalid one, '? ' and its
(empty) copy with the white space stripped, then LF (FRAME-5 lenient: what a blank line gets is
left open). Each flood is its own short connection to the neighbour, and the IAMAT is answered
only once every flood was written, so blank lines before an IAMAT on one connection get their
'? ' at once and the AT reply a little later: a reader that stops at the first line sees only
'? '."""

import asyncio

from _base import HerdServer, main


class NeverClosesBlankAnswered(HerdServer):
    ephemeral_links = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kept: list[asyncio.StreamWriter] = []  # held so nothing closes them

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.kept.append(writer)
        while True:
            line = await reader.readline()
            if not line:
                return  # the student forgot writer.close(); the socket stays open
            if self.is_blank(line):
                await self.send_reply(writer, [b"? \n"])  # a blank line is one more bad command
                continue
            reply = await self.answer(line)
            if reply:
                await self.send_reply(writer, reply)

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        sends = (self.send_flood(peer, at_line + b"\n") for peer in self.neighbours if peer != exclude)
        await asyncio.gather(*sends)


if __name__ == "__main__":
    main(NeverClosesBlankAnswered)
