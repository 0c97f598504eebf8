"""One bug: Twisted LineReceiver's default delimiter CRLF: a line ended by LF alone, or by EOF, is
never answered (FRAME-1)."""

import asyncio

from _base import HerdServer, main


class TwistedCrlfDelimiter(HerdServer):
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\r\n")
                except asyncio.IncompleteReadError:
                    break  # like connectionLost: the unfinished buffer is dropped
                if not self.is_blank(line):
                    await self.send_reply(writer, await self.answer(line[:-2]))
        finally:
            writer.close()

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        for peer in self.neighbours:
            if peer != exclude:
                self.queues[peer].put_nowait(at_line + b"\r\n")  # sendLine() on the link

    async def send_reply(self, writer: asyncio.StreamWriter, parts: list[bytes]) -> None:
        writer.write(b"".join(parts).replace(b"\n", b"\r\n"))  # sendLine()
        await writer.drain()


if __name__ == "__main__":
    main(TwistedCrlfDelimiter)
