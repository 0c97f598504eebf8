"""One bug: a negative time difference is written with two minus signs ('-' + str(diff), as
two student herds did), so a client time ahead of the server's clock gets '--3600.000000001'
(AT-2)."""

from decimal import Decimal

from _base import HerdServer, main


class SkewDoubleMinus(HerdServer):
    def time_diff(self, received: float, client_time: bytes) -> bytes:
        diff = Decimal(repr(received)) - Decimal(client_time.decode())
        return (f"+{diff:.9f}" if diff >= 0 else f"-{diff:.9f}").encode()

    def time_diff_ok(self, time_diff: bytes) -> bool:
        # The herd reads back what it writes, so its own floods are not refused.
        return super().time_diff_ok(time_diff.replace(b"--", b"-"))


if __name__ == "__main__":
    main(SkewDoubleMinus)
