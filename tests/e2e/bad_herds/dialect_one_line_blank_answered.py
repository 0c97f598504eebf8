"""Dialect, no bug: one line per connection (readline, answer, close), and a blank line is
answered like any line that is not a command, '? ' and the (empty) copy (protocol notes A20:
the course leaves blank lines open; readers of one command per connection answer '? ')."""

import asyncio

from _base import HerdServer, main


class OneLineBlankAnswered(HerdServer):
    ephemeral_links = True  # a link would carry more than one command

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            if not line.strip():
                await self.send_reply(writer, self.error_reply(self.strip_terminator(line).strip()))
            else:
                await self.send_reply(writer, await self.answer(line))
        finally:
            writer.close()


if __name__ == "__main__":
    main(OneLineBlankAnswered)
