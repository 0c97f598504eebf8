"""One bug: a duplicate or stale IAMAT is answered with the stored record instead of a fresh AT
line (IAMAT-4)."""

from _base import HerdServer, main


class IamatReplyStoredRecord(HerdServer):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        stored = self.table.get(client)
        return at_line if stored is None or self.is_newer(client, at_line.split(b" ")[5]) else stored[1]


if __name__ == "__main__":
    main(IamatReplyStoredRecord)
