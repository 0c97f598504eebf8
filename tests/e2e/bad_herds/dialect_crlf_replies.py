"""Dialect, no bug: a telnet-friendly herd that ends every reply line with CRLF, the WHATSAT
reply's lines and final empty line included (AT-1 lenient, SPEC A21: CRLF is lenient)."""

import asyncio

from _base import HerdServer, main


class CrlfReplies(HerdServer):
    async def send_reply(self, writer: asyncio.StreamWriter, parts: list[bytes]) -> None:
        writer.write(b"".join(parts).replace(b"\n", b"\r\n"))
        await writer.drain()


if __name__ == "__main__":
    main(CrlfReplies)
