"""Dialect, no bug: each flood is its own short connection to the neighbour, and the IAMAT is
answered only once every flood was written (FLOOD-7: queued before the reply; the
derekvance21 style). A neighbour that is down or stopped costs at most the connect timeout."""

import asyncio

from _base import HerdServer, main


class ReplyAfterFlood(HerdServer):
    ephemeral_links = True

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        sends = (self.send_flood(peer, at_line + b"\n") for peer in self.neighbours if peer != exclude)
        await asyncio.gather(*sends)


if __name__ == "__main__":
    main(ReplyAfterFlood)
