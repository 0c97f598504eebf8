"""Dialect, no bug: reads everything up to the client's half-close, answers it as one command
and closes (FRAME-3 lenient: "answered when the client half-closes"; the 2021 TA note)."""

import asyncio

from _base import HerdServer, main


class ReadToEof(HerdServer):
    ephemeral_links = True  # a link would carry more than one command

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            data = await reader.read()
            if data.strip():
                await self.send_reply(writer, await self.answer(data.strip(b" \t\r\n\v\f") + b"\n"))
        finally:
            writer.close()


if __name__ == "__main__":
    main(ReadToEof)
