"""One bug: the time difference is written with an exponent: '%+e' under a second (+4.7e-05 as
str(float) writes it under 0.1 ms, for a client that sends its clock's time over a fast link)
and '+' + str(float) otherwise, which uses one for large values (-1.2345e+18). AT-2 allows no
exponent; the course's TA checker reads one decimal number."""

from _base import HerdServer, main


class TimeDiffStrFloat(HerdServer):
    def time_diff(self, received: float, client_time: bytes) -> bytes:
        diff = received - float(client_time)
        if abs(diff) < 1:
            # Under a second, '%+e' (the student's "compact" form; str() would write an
            # exponent only under 0.1 ms, which a loaded machine's clock may never meet).
            return b"%+e" % diff
        return (("+" if diff >= 0 else "") + str(diff)).encode()

    def time_diff_ok(self, time_diff: bytes) -> bool:
        # The herd reads back what it writes (float() takes the exponent), so its floods pass.
        try:
            float(time_diff)
        except ValueError:
            return False
        return True


if __name__ == "__main__":
    main(TimeDiffStrFloat)
