"""One bug and one strict deviation, in one line of code: the time difference is a float written
after a sign of its own ('+' or '-', then str(diff)), as student herds do. A negative difference
gets two minus signs ('--3600.0001', AT-2 in every profile), and every difference has the digits
str() gives a float (e.g. '+0.00123291015625'), which only AT-2's Strict part rules out: both
are judged, each by its own check (skew, skew-nine-digits)."""

from _base import HerdServer, main


class SkewDoubleMinusFloatDigits(HerdServer):
    def time_diff(self, received: float, client_time: bytes) -> bytes:
        diff = received - float(client_time)
        return (f"+{diff}" if diff >= 0 else f"-{diff}").encode()

    def time_diff_ok(self, time_diff: bytes) -> bool:
        # The herd reads back what it writes (an exponent too: str(5e-05)), so its own floods
        # are not refused.
        try:
            float(time_diff.replace(b"--", b"-"))
        except ValueError:
            return False
        return True


if __name__ == "__main__":
    main(SkewDoubleMinusFloatDigits)
