"""One bug: an IAMAT with the same client time as the stored record is taken for a repeat of that
report and answered with the stored record, not a fresh AT line for this IAMAT (IAMAT-4); stale
reports are answered fresh, and nothing is stored or flooded wrongly."""

from decimal import Decimal

from _base import HerdServer, main


class DuplicateAnsweredWithStoredRecord(HerdServer):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        stored = self.table.get(client)
        client_time = Decimal(at_line.split(b" ")[5].decode())
        return stored[1] if stored is not None and Decimal(stored[0].decode()) == client_time else at_line


if __name__ == "__main__":
    main(DuplicateAnsweredWithStoredRecord)
