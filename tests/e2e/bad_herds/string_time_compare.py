"""One bug: client times are compared as strings, so 999999999 counts as newer than 1000000000 (FLOOD-2)."""

from _base import HerdServer, main


class StringTimeCompare(HerdServer):
    def is_newer(self, client: bytes, client_time: bytes) -> bool:
        stored = self.table.get(client)
        return stored is None or client_time > stored[0]


if __name__ == "__main__":
    main(StringTimeCompare)
