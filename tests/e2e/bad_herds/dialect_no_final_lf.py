"""Dialect, no bug: one command per connection, a one-line reply without its final LF, then
close (AT-1 lenient: no terminator before the server closes a single-shot connection)."""

import asyncio

from _base import HerdServer, main


class NoFinalLf(HerdServer):
    single_shot = True
    ephemeral_links = True  # a link would carry more than one command

    async def send_reply(self, writer: asyncio.StreamWriter, parts: list[bytes]) -> None:
        data = b"".join(parts)
        if len(parts) == 1:  # AT or '?': one line, closed right after, so the LF is left out
            data = data.removesuffix(b"\n")
        writer.write(data)
        await writer.drain()


if __name__ == "__main__":
    main(NoFinalLf)
