"""Dialect, no bug: reads one command up to the client's half-close and answers "? " plus the
command as received, its LF included, plus LF, so a '?' reply ends in an empty line
(ERR-2 lenient: the copy differs in white space only; the course's graders strip the reply)."""

import asyncio

from _base import HerdServer, main


class ErrorCopyKeepsLf(HerdServer):
    ephemeral_links = True  # a link would carry more than one command

    def strip_terminator(self, line: bytes) -> bytes:
        return line  # the '?' copy is taken before the LF is removed

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            data = await reader.read()
            if data.strip():
                await self.send_reply(writer, await self.answer(data))
        finally:
            writer.close()


if __name__ == "__main__":
    main(ErrorCopyKeepsLf)
