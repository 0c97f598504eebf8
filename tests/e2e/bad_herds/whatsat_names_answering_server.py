"""One bug: WHATSAT's AT line is written from the stored record's fields with the answering
server's own name in the server field, so a server that got the record by flooding names itself
instead of the server the client reported to (WHATSAT-5: the reply starts with the stored AT
line). At the origin the line is the stored one; floods carry the right line."""

from _base import HerdServer, main


class WhatsatNamesAnsweringServer(HerdServer):
    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        fields = stored[1].split(b" ")
        return b" ".join([fields[0], self.name.encode(), *fields[2:]])


if __name__ == "__main__":
    main(WhatsatNamesAnsweringServer)
