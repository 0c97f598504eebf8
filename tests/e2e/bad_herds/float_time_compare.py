"""One bug: client times are compared as floats, so a report 1 ns newer than the stored one
(the handout's nine fraction digits: 19 significant, more than a binary float holds) counts as
a duplicate and the older report is kept (FLOOD-2: "compared as exact decimal values"). The
times are echoed exactly as sent."""

from _base import HerdServer, main


class FloatTimeCompare(HerdServer):
    def is_newer(self, client: bytes, client_time: bytes) -> bool:
        stored = self.table.get(client)
        return stored is None or float(client_time) > float(stored[0])


if __name__ == "__main__":
    main(FloatTimeCompare)
