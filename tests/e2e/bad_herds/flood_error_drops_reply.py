"""One bug: each flood opens a connection inline with no error handling, so a neighbour that is
down costs the client its reply (LINK-4)."""

import asyncio

from _base import HerdServer, main


class FloodErrorDropsReply(HerdServer):
    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        for peer in self.neighbours:
            if peer != exclude:
                _, writer = await asyncio.open_connection(*self.servers[peer])  # raises if down
                writer.write(at_line + b"\n")
                writer.close()

    async def link(self, peer: str) -> None:
        return  # one connection per flood


if __name__ == "__main__":
    main(FloodErrorDropsReply)
