"""One bug: a record that came from a neighbour is kept without the LF that ends a client's own
(the herd stores its own AT reply as written, LF and all, and a flooded line as parsed), and
WHATSAT writes the stored line and the JSON with nothing between: at the server the client
reported to, the reply is right; at every other server the JSON is glued to the AT line
(WHATSAT-5). A student herd did so; flood-all took the glued line for another line (FLOOD-5)."""

from _base import HerdServer, main


class KnowsFloodedRecords(HerdServer):
    """Not a herd of its own: which clients' records came from a neighbour (``flooded``), for
    herds that answer those otherwise than a client's own."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.flooded: set[bytes] = set()

    def store_iamat(self, client: bytes, client_time: bytes, at_line: bytes, accepted: bool) -> None:
        super().store_iamat(client, client_time, at_line, accepted)
        if accepted:
            self.flooded.discard(client)

    async def on_at(self, fields: list[bytes]) -> None:
        before = self.table.get(fields[3]) if len(fields) == 6 else None
        await super().on_at(fields)
        if len(fields) == 6 and self.table.get(fields[3]) is not before:
            self.flooded.add(fields[3])


class FloodedRecordGlued(KnowsFloodedRecords):
    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        return stored[1] if client in self.flooded else stored[1] + b"\n"

    def whatsat_reply(self, at_line: bytes, body: bytes) -> list[bytes]:
        return [at_line, body + b"\n\n"]


if __name__ == "__main__":
    main(FloodedRecordGlued)
