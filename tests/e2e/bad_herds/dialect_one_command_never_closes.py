"""Dialect, no bug: reads one line per connection, answers it and returns without reading again
or closing, so the connection stays open, silent, even after the client half-closed (FRAME-3
lenient: one command per connection; FRAME-4's "then closes" is herdref's own choice, the TA
grader reads one chunk and closes itself)."""

import asyncio

from _base import HerdServer, main


class OneCommandNeverCloses(HerdServer):
    ephemeral_links = True  # a link would carry more than one command

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kept: list[asyncio.StreamWriter] = []  # held so nothing closes them

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.kept.append(writer)
        while line := await reader.readline():
            if self.is_blank(line):
                continue
            reply = await self.answer(line)
            if reply:
                await self.send_reply(writer, reply)
            return  # the one command is answered; nothing more is read or closed


if __name__ == "__main__":
    main(OneCommandNeverCloses)
