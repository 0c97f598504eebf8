"""Dialect, no bug: answers the first command of a connection and reads the rest of it without
answering, until the client closes or half-closes (FRAME-3 lenient: one command per
connection; the shape of a student herd, which reads once per connection)."""

import asyncio

from _base import HerdServer, main


class FirstCommandOnly(HerdServer):
    ephemeral_links = True  # a link would carry more than one command

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                if self.is_blank(line):
                    continue
                reply = await self.answer(line)
                if reply:
                    await self.send_reply(writer, reply)
                break
            while await reader.read(65_536):
                pass  # every later line on this connection is read and ignored
        finally:
            writer.close()


if __name__ == "__main__":
    main(FirstCommandOnly)
