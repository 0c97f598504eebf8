"""One bug: a server sends its floods, but a server that receives one fails on it (a str and
bytes mixed up, as in a student herd: TypeError) and stores nothing, so no record ever reaches
a server other than the one a client reported to (FLOOD-1). A listener on a neighbour's port
sees the floods leave; only the servers show they are never taken."""

from _base import HerdServer, main


class FloodReceiverFails(HerdServer):
    async def on_at(self, fields: list[bytes]) -> None:
        self.check_at(fields)
        raise TypeError('can only concatenate str (not "bytes") to str')


if __name__ == "__main__":
    main(FloodReceiverFails)
