"""One bug: a record that came from a neighbour is answered with a space after its client time
(the herd keeps the line of its own flood message, FLOOD-5; a student herd did). flood-all
names it; the records read with their white space squeezed, every check that needs flooding
still judges its own property, and passes."""

from _base import HerdServer, main


class RelayedTrailingSpace(HerdServer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.flooded: set[bytes] = set()  # clients whose record came from a neighbour

    def store_iamat(self, client: bytes, client_time: bytes, at_line: bytes, accepted: bool) -> None:
        super().store_iamat(client, client_time, at_line, accepted)
        if accepted:
            self.flooded.discard(client)

    async def on_at(self, fields: list[bytes]) -> None:
        before = self.table.get(fields[3]) if len(fields) == 6 else None
        await super().on_at(fields)
        if len(fields) == 6 and self.table.get(fields[3]) is not before:
            self.flooded.add(fields[3])

    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        return stored[1] + b" " if client in self.flooded else stored[1]


if __name__ == "__main__":
    main(RelayedTrailingSpace)
