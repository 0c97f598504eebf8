"""Two bugs in one decision, the reply to an older IAMAT and what it does to the record: a
duplicate or stale IAMAT is answered with the stored record instead of a fresh AT line
(IAMAT-4), and is then stored all the same, so the server's WHATSAT goes back in time (IAMAT-7):
the "reply with what we have" branch lacks its return. iamat-stale names both in one FAIL."""

from _base import HerdServer, main


class StaleAnsweredStoredAndKept(HerdServer):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        stored = self.table.get(client)
        return at_line if stored is None or self.is_newer(client, at_line.split(b" ")[5]) else stored[1]

    def store_iamat(self, client: bytes, client_time: bytes, at_line: bytes, accepted: bool) -> None:
        self.table[client] = (client_time, at_line)  # no return after the reply above


if __name__ == "__main__":
    main(StaleAnsweredStoredAndKept)
