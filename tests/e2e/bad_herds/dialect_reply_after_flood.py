"""Dialect, no bug: each flood is its own short connection to the neighbour, and the IAMAT is
answered only once every flood was written (FLOOD-7: queued before the reply; the
derekvance21 style). A neighbour that is down or stopped costs at most the connect timeout."""

import asyncio

from _base import HerdServer, main


class ReplyAfterFlood(HerdServer):
    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        await asyncio.gather(*(self.send_to(peer, at_line) for peer in self.neighbours if peer != exclude))

    async def send_to(self, peer: str, at_line: bytes) -> None:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(*self.servers[peer]), 0.5)
        except (OSError, TimeoutError):
            return  # a neighbour that is down misses the record (no catch-up is required)
        writer.write(at_line + b"\n")
        writer.close()

    async def link(self, peer: str) -> None:
        return  # no persistent links: one connection per flood


if __name__ == "__main__":
    main(ReplyAfterFlood)
