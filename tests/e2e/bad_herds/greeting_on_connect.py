"""One bug: every new connection gets a greeting line before anything is sent on it (a Twisted
herd's ``connectionMade`` writing "Connection Succesful with server <name>"): a client reads it
as the reply to its first command (FRAME-6). Every command is answered as usual after it."""

import asyncio

from _base import HerdServer, main


class GreetingOnConnect(HerdServer):
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Connection Succesful with server %s\n" % self.name.encode())
        await super().handle(reader, writer)


if __name__ == "__main__":
    main(GreetingOnConnect)
