"""A strict deviation, not a bug: the client time is validated with float(), so 1e9, 1_000 and
infinity are accepted (LEX-6; the course leaves the form open, SPEC decision A19)."""

from _base import HerdServer, main


class ExponentTimeAccepted(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        try:
            float(client_time)
        except ValueError:
            return False
        return True


if __name__ == "__main__":
    main(ExponentTimeAccepted)
