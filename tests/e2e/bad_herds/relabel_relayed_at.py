"""One bug: a relayed AT line names the relaying server instead of the one the client talked to (FLOOD-5)."""

from _base import HerdServer, main


class RelabelRelayedAt(HerdServer):
    def relay(self, at_line: bytes) -> bytes:
        fields = at_line.split(b" ")
        fields[1] = self.name.encode()
        return b" ".join(fields)


if __name__ == "__main__":
    main(RelabelRelayedAt)
