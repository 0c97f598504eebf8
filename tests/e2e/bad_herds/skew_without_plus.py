"""One bug: a positive time difference is printed without its "+" sign (AT-2)."""

from decimal import Decimal

from _base import HerdServer, main


class SkewWithoutPlus(HerdServer):
    def time_diff(self, received: float, client_time: bytes) -> bytes:
        return f"{Decimal(repr(received)) - Decimal(client_time.decode()):.9f}".encode()


if __name__ == "__main__":
    main(SkewWithoutPlus)
