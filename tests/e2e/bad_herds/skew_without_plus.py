"""One bug: a positive time difference is printed without its "+" sign (AT-2)."""

from decimal import Decimal

from _base import HerdServer, main


class SkewWithoutPlus(HerdServer):
    def time_diff(self, received: float, client_time: bytes) -> bytes:
        return f"{Decimal(repr(received)) - Decimal(client_time.decode()):.9f}".encode()

    def time_diff_ok(self, time_diff: bytes) -> bool:
        # The herd reads back what it writes, so its own floods are not refused.
        return super().time_diff_ok(b"+" + time_diff) or super().time_diff_ok(time_diff)


if __name__ == "__main__":
    main(SkewWithoutPlus)
