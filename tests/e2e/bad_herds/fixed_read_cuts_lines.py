"""One bug: each line is read into a buffer of 100 octets, and what is past the 100th octet is
dropped: a longer line is taken cut short (FRAME-1: a line is every octet up to its LF). A client
IAMAT with a long client ID loses its fields and gets '?' (IAMAT-4: a 253-octet host name is a
valid client ID), and a flooded AT line of more than 100 octets is stored with its client time
cut (``1796405651.41`` of ``1796405651.410988600``)."""

import asyncio

from _base import HerdServer, main

BUFFER = 100


class FixedReadCutsLines(HerdServer):
    async def read_line(self, reader: asyncio.StreamReader) -> bytes:
        return (await reader.readline())[:BUFFER]  # the bug: the rest of the line is dropped


if __name__ == "__main__":
    main(FixedReadCutsLines)
