"""One bug: a debug line ('received: <line>') is written to the client before each reply (FRAME-6)."""

import asyncio

from _base import HerdServer, main


class DebugTextToClient(HerdServer):
    async def send_reply(self, writer: asyncio.StreamWriter, parts: list[bytes]) -> None:
        writer.write(b"received: " + parts[0].split(b"\n")[0] + b"\n")  # meant for the log
        await super().send_reply(writer, parts)


if __name__ == "__main__":
    main(DebugTextToClient)
