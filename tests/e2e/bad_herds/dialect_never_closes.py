"""Dialect, no bug: a line loop that never closes its side of a connection, even after the
client half-closed (the TA grader reads one chunk and closes itself; FRAME-4's "then closes"
is herdref's own choice)."""

import asyncio

from _base import HerdServer, main


class NeverCloses(HerdServer):
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
                continue
            reply = await self.answer(line)
            if reply:
                await self.send_reply(writer, reply)


if __name__ == "__main__":
    main(NeverCloses)
