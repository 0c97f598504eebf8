"""One strict deviation: a client's IAMAT with the same client time as the stored record replaces
it (>= instead of >) and is flooded. IAMAT-7's Strict part calls it a duplicate; the course leaves
equal timestamps open (decision A7), and records from neighbours are still compared strictly, so
nothing circles (FLOOD-2 holds)."""

from decimal import Decimal

from _base import HerdServer, main


class EqualTimeReplaces(HerdServer):
    def accept_iamat(self, client: bytes, client_time: bytes) -> bool:
        stored = self.table.get(client)
        return stored is None or Decimal(client_time.decode()) >= Decimal(stored[0].decode())


if __name__ == "__main__":
    main(EqualTimeReplaces)
