"""One bug: a WHATSAT reply's AT line is written at once and its JSON once Places answers (as an
``asyncio.Protocol`` herd writes from ``data_received`` and from a task), while the commands
after it on the connection are answered meanwhile, so an IAMAT sent right behind a WHATSAT gets
its AT line between the WHATSAT's AT line and its JSON: the two replies interleave (FRAME-6).
Unlike half_close_cuts_whatsat, whose reading it shares, it waits for its Places calls before
closing on the client's EOF."""

import asyncio

from _base import main
from half_close_cuts_whatsat import HalfCloseCutsWhatsat


class WhatsatReplyInterleaved(HalfCloseCutsWhatsat):
    async def at_eof(self, writer: asyncio.StreamWriter, pending: list[asyncio.Task[None]]) -> None:
        await asyncio.gather(*pending, return_exceptions=True)
        writer.close()


if __name__ == "__main__":
    main(WhatsatReplyInterleaved)
