"""One bug: a client's IAMAT with the same client time as the stored record replaces it (>= instead
of >) (IAMAT-7, and floods it, FLOOD-2)."""

from decimal import Decimal

from _base import HerdServer, main


class EqualTimeReplaces(HerdServer):
    def accept_iamat(self, client: bytes, client_time: bytes) -> bool:
        stored = self.table.get(client)
        return stored is None or Decimal(client_time.decode()) >= Decimal(stored[0].decode())


if __name__ == "__main__":
    main(EqualTimeReplaces)
