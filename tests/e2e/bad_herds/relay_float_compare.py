"""One bug (FLOOD-2): a client's own reports are compared by value, but a record from a
neighbour is compared with the stored one as a float, so a flooded server keeps a report over
one 1 ns newer (nine fraction digits: 19 significant, more than a binary float holds)."""

from decimal import Decimal

from _base import HerdServer, main


class RelayFloatCompare(HerdServer):
    def accept_iamat(self, client: bytes, client_time: bytes) -> bool:
        stored = self.table.get(client)
        return stored is None or Decimal(client_time.decode()) > Decimal(stored[0].decode())

    def is_newer(self, client: bytes, client_time: bytes) -> bool:
        stored = self.table.get(client)
        return stored is None or float(client_time) > float(stored[0])  # the bug, for records from neighbours


if __name__ == "__main__":
    main(RelayFloatCompare)
