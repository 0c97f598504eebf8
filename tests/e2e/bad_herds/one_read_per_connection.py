"""One deviation (strict only): no line loop; one read() per connection is taken for the whole
command, answered, then the connection is closed (the TA echo server's shape). Single-shot is
allowed (FRAME-3 lenient), and so is taking one read for one command (FRAME-1 lenient, SPEC
decision A26), but strict FRAME-1 ends a command at its LF or the client's EOF, never where a
read ends: a command written in two TCP writes is answered for its first piece alone."""

import asyncio

from _base import HerdServer, main


class OneRead(HerdServer):
    ephemeral_links = True  # a link would carry more than one command

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            data = await reader.read(65536)  # the bug: one read is not one command
            if data.strip():
                await self.send_reply(writer, await self.answer(data))
        finally:
            writer.close()


if __name__ == "__main__":
    main(OneRead)
