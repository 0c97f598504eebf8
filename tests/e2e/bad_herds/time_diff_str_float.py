"""One bug: the time difference is '+' + str(float), which uses an exponent for differences under
0.1 ms (+4.7e-05: a client that sends its clock's time over a fast link) and for large values
(-1.2345e+18). AT-2 allows no exponent; the course's TA checker reads one decimal number."""

from _base import HerdServer, main


class TimeDiffStrFloat(HerdServer):
    def time_diff(self, received: float, client_time: bytes) -> bytes:
        diff = received - float(client_time)
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
