"""One bug: an IAMAT is answered only after every neighbour has taken the flood and closed (LINK-4)."""

import asyncio

from _base import HerdServer, main


class HangOnPausedNeighbour(HerdServer):
    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        for peer in self.neighbours:
            if peer == exclude:
                continue
            try:
                reader, writer = await asyncio.open_connection(*self.servers[peer])
            except OSError:
                continue
            writer.write(at_line + b"\n")
            writer.write_eof()
            await reader.read()  # the bug: waits for the neighbour, however long it takes
            writer.close()


if __name__ == "__main__":
    main(HangOnPausedNeighbour)
