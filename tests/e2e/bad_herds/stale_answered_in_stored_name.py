"""One bug: an IAMAT whose client time is not newer than the stored record's (stale or a
duplicate) is answered with an AT line for that IAMAT, but in the name of the server that the
stored record came from (a student herd builds the reply from the stored record's fields and
the new report's). At the server the client reported to first the two names are the same;
at any other server the reply names a server the client never spoke to (IAMAT-4, AT-1)."""

from decimal import Decimal

from _base import HerdServer, main


class StaleAnsweredInStoredName(HerdServer):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        stored = self.table.get(client)
        fields = at_line.split(b" ")
        if stored is not None and Decimal(stored[0].decode()) >= Decimal(fields[5].decode()):
            return b" ".join([b"AT", stored[1].split(b" ")[1], *fields[2:]])
        return at_line


if __name__ == "__main__":
    main(StaleAnsweredInStoredName)
