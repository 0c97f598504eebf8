"""One deviation (strict only, FRAME-1 lenient and SPEC decision A26): each read() is taken for one
line, so a command that arrives in two TCP writes is two invalid lines."""

import asyncio

from _base import HerdServer, main


class SplitWriteAsLine(HerdServer):
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                for line in data.splitlines():  # the bug: a read is not a line
                    if line.strip():
                        await self.send_reply(writer, await self.answer(line))
        finally:
            writer.close()


if __name__ == "__main__":
    main(SplitWriteAsLine)
