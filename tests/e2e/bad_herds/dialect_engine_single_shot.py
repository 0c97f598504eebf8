"""Dialect, no bug under the lenient profile: one command per connection, answered, then the
server closes; a single-line reply has no final LF (FRAME-3 and AT-1 lenient allow both)."""

import asyncio

from _base import HerdServer, main


class SingleShot(HerdServer):
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                if not line.strip():
                    continue
                reply = await self.answer(line)
                if len(reply) == 1:
                    reply = [reply[0].removesuffix(b"\n")]
                if reply:  # an AT line from a neighbour gets no reply and ends nothing
                    await self.send_reply(writer, reply)
                    return
        finally:
            writer.close()


if __name__ == "__main__":
    main(SingleShot)
