"""Dialect, no bug: no line loop; one read() per connection is the command, answered, then the
connection is closed (FRAME-3 lenient: single-shot; the TA echo server's shape)."""

import asyncio

from _base import HerdServer, main


class OneRead(HerdServer):
    ephemeral_links = True  # a link would carry more than one command

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            data = await reader.read(65536)
            if data.strip():
                await self.send_reply(writer, await self.answer(data))
        finally:
            writer.close()


if __name__ == "__main__":
    main(OneRead)
