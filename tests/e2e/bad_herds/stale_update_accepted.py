"""One bug: the last IAMAT received wins, even with an older client time (FLOOD-2)."""

from _base import HerdServer, main


class StaleUpdateAccepted(HerdServer):
    def is_newer(self, client: bytes, client_time: bytes) -> bool:
        stored = self.table.get(client)
        return stored is None or stored[0] != client_time


if __name__ == "__main__":
    main(StaleUpdateAccepted)
