"""Dialect, no bug under the lenient profile: single-line replies (the AT reply, '?') end in CRLF
(AT-1 lenient allows it; strict asks for LF alone)."""

import asyncio

from _base import HerdServer, main


class CrlfReplies(HerdServer):
    async def send_reply(self, writer: asyncio.StreamWriter, parts: list[bytes]) -> None:
        if len(parts) == 1 and parts[0].endswith(b"\n"):
            parts = [parts[0][:-1] + b"\r\n"]
        await super().send_reply(writer, parts)


if __name__ == "__main__":
    main(CrlfReplies)
