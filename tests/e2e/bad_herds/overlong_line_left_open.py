"""A strict deviation, not a bug the course tests: a line past the StreamReader's 64 KiB limit
makes readline() raise, and the handler returns on that read error without closing the
connection, so the client of a line past 64 KiB waits on an open connection with no answer (LEX-2
Strict: any line up to LIMIT-1 is answered; the course sets no line length, SPEC decision A25).
The server goes on answering everyone else (ERR-4 holds)."""

import asyncio

from _base import HerdServer, main


class OverlongLineLeftOpen(HerdServer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.left_open: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                line = await reader.readline()
            except ValueError:
                # The bug: the read error ends the handler, and the connection is kept open.
                self.left_open.append(writer)
                return
            if not line:
                break
            if self.is_blank(line):
                continue
            reply = await self.answer(line)
            if reply:
                await self.send_reply(writer, reply)
        writer.close()


if __name__ == "__main__":
    main(OverlongLineLeftOpen)
