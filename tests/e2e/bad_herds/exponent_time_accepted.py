"""One bug: the client time is validated with float(), so 1e9, 1_000 and infinity are accepted (LEX-6)."""

from _base import HerdServer, main


class ExponentTimeAccepted(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        try:
            float(client_time)
        except ValueError:
            return False
        return True

    def time_diff(self, received: float, client_time: bytes) -> bytes:
        return f"{received - float(client_time):+.9f}".encode()

    def is_newer(self, client: bytes, client_time: bytes) -> bool:
        stored = self.table.get(client)
        return stored is None or float(client_time) > float(stored[0])


if __name__ == "__main__":
    main(ExponentTimeAccepted)
