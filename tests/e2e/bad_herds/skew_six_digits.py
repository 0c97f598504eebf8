"""One strict deviation: the time difference is rounded to six fractional digits, as
``f"{diff:+f}"`` on a float prints it. The lenient profile allows that; the strict profile
does not (AT-2: "exactly nine fractional digits")."""

from decimal import Decimal

from _base import HerdServer, main


class SkewSixDigits(HerdServer):
    def time_diff(self, received: float, client_time: bytes) -> bytes:
        diff = Decimal(repr(received)) - Decimal(client_time.decode())
        return f"{diff.quantize(Decimal('0.000001')):+f}".encode()


if __name__ == "__main__":
    main(SkewSixDigits)
