"""One bug (ERR-4): a line longer than the StreamReader's 64 KiB limit makes readline() raise,
and the handler takes that read error for a fatal one and ends the process, so one client's
long line takes the server down (the server never dies, whatever it is sent)."""

import os

from _base import HerdServer, main


class LongLineStopsServer(HerdServer):
    async def handle(self, reader, writer) -> None:
        try:
            await super().handle(reader, writer)
        except ValueError as exc:
            if "limit" in str(exc):  # readline() past the limit
                os._exit(1)  # the bug: a read error ends the process
            raise


if __name__ == "__main__":
    main(LongLineStopsServer)
