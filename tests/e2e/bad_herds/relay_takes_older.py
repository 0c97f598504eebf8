"""One bug: a record that comes from a neighbour replaces the stored one whenever its AT line
has not been seen before, whatever the client times (FLOOD-2: only a strictly newer record
replaces the stored one). Duplicates are suppressed by a set of the lines seen, so each line is
flooded once per server and two records of one client never chase each other round a cycle. A
client's own IAMATs are compared by value, as _base.py does, so the server a client reports to
never goes back in time; its neighbours do, when two floods cross and the older arrives last."""

from _base import HerdServer, main


class RelayTakesOlder(HerdServer):
    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.seen: set[bytes] = set()

    async def on_at(self, fields: list[bytes]) -> None:
        self.check_at(fields)
        client, client_time = fields[3], fields[5]
        at_line = b" ".join(fields)
        if at_line in self.seen:
            return  # the same line again: the flood has come round
        self.seen.add(at_line)
        self.table[client] = (client_time, at_line)  # the bug: no comparison of client times
        await self.flood(at_line, exclude=fields[1].decode(errors="replace"))


if __name__ == "__main__":
    main(RelayTakesOlder)
