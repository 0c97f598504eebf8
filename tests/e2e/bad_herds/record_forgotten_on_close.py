"""One bug: a server forgets the records of the clients that reported on a connection when that
connection closes (a Twisted herd's connectionLost deleting them): a WHATSAT on another
connection finds no record of a client the server has just answered (STATE-1). Records that
come from neighbours are kept."""

import asyncio
import contextlib
from contextvars import ContextVar

from _base import HerdServer, main

#: The clients that reported on the connection being handled (each handler is a task of its own,
#: with a context of its own).
REPORTED: ContextVar[set[bytes]] = ContextVar("reported")


class RecordForgottenOnClose(HerdServer):
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reported: set[bytes] = set()
        REPORTED.set(reported)
        try:
            await super().handle(reader, writer)
        finally:
            for client in reported:
                self.table.pop(client, None)

    async def on_iamat(self, fields: list[bytes]) -> list[bytes]:
        reply = await super().on_iamat(fields)
        with contextlib.suppress(LookupError):
            REPORTED.get().add(fields[1])
        return reply


if __name__ == "__main__":
    main(RecordForgottenOnClose)
