"""One bug: after the client half-closes, the server answers but never closes its side
(FRAME-4: it closes once every command is answered)."""

import asyncio

from _base import HerdServer, main


class NeverCloses(HerdServer):
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line = await reader.readline()
            if not line:
                break
            if not line.strip():
                continue
            reply = await self.answer(line)
            if reply:
                await self.send_reply(writer, reply)
        await asyncio.Event().wait()  # the connection stays open until the client goes


if __name__ == "__main__":
    main(NeverCloses)
