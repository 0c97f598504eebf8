"""One bug: the server that receives a client's older IAMAT stores it anyway (not flooded), so its
WHATSAT goes back in time (IAMAT-7)."""

from _base import HerdServer, main


class StaleIamatStoredAtOrigin(HerdServer):
    def store_iamat(self, client: bytes, client_time: bytes, at_line: bytes, accepted: bool) -> None:
        self.table[client] = (client_time, at_line)  # the bug: "latest received" wins


if __name__ == "__main__":
    main(StaleIamatStoredAtOrigin)
