"""One bug: the AT reply to a stale IAMAT echoes that IAMAT's location and client time, but
next to the time difference stored with the newer record, not the server's receive time minus
this client time (IAMAT-4: the reply describes *this* IAMAT). Student herds built the reply
from the record they kept."""

from _base import HerdServer, main


class StaleReplyStoredDiff(HerdServer):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        stored = self.table.get(client)
        fields = at_line.split(b" ")
        if stored is None or self.is_newer(client, fields[5]):
            return at_line
        fields[2] = stored[1].split(b" ")[2]
        return b" ".join(fields)


if __name__ == "__main__":
    main(StaleReplyStoredDiff)
