"""One bug: a reply leaves in two writes with a pause between them (FRAME-6)."""

import asyncio

from _base import HerdServer, main


class SplitReply(HerdServer):
    async def send_reply(self, writer: asyncio.StreamWriter, parts: list[bytes]) -> None:
        data = b"".join(parts)
        writer.write(data[:10])
        await writer.drain()
        await asyncio.sleep(0.05)  # the bug: e.g. logging between the two writes
        writer.write(data[10:])
        await writer.drain()


if __name__ == "__main__":
    main(SplitReply)
