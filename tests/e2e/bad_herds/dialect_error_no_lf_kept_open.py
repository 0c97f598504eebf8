"""Dialect, no bug: '? <line>' is written without a final LF (``"? " + line`` after
``splitlines()``), and a connection is never closed (nzimmerman3/Proxy-Herd-with-Asyncio,
2018). SPEC 1.1 lenient lets a single-line reply go without its final LF; FRAME-4's "then
closes" is herdref's own choice."""

import asyncio

from _base import HerdServer, main


class ErrorNoLfKeptOpen(HerdServer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kept: list[asyncio.StreamWriter] = []  # held so nothing closes them

    def error_reply(self, line: bytes) -> list[bytes]:
        return [b"? " + line]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.kept.append(writer)
        while True:
            line = await reader.readline()
            if not line:
                return  # no writer.close(): the socket stays open
            if self.is_blank(line):
                continue
            reply = await self.answer(line)
            if reply:
                await self.send_reply(writer, reply)


if __name__ == "__main__":
    main(ErrorNoLfKeptOpen)
