"""One bug: a single-shot herd (everything up to the client's EOF is the command, then close)
that tells commands apart by what the message starts with, so white space before the command
word makes a valid command invalid (LEX-3: leading white space is ignored)."""

import asyncio

from _base import main
from dialect_read_to_eof import ReadToEof


class LeadingSpaceNotIgnored(ReadToEof):
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            data = await reader.read()
            if data.strip():
                await self.send_reply(writer, await self.answer(data.rstrip(b" \t\r\n\v\f") + b"\n"))
        finally:
            writer.close()

    def split(self, line: bytes) -> list[bytes]:
        if line[:1].isspace():
            return [line]  # message.startswith("IAMAT") is False: not a command word
        return line.split()


if __name__ == "__main__":
    main(LeadingSpaceNotIgnored)
