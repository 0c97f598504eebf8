"""A strict deviation, not a bug: the client time is validated with float() and only infinity
refused, and client times are ordered as floats, so nan is taken (with 1e9, -5, 1_000, .5 and
5.) and answered with an AT line whose time difference is NaN (LEX-6; the course leaves the
form open, SPEC decision A19, protocol notes A18: float() takes nan). nan_time_no_reply.py is
the same validator with a crash after it."""

import math

from _base import HerdServer, main


class NanTimeAccepted(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        try:
            return not math.isinf(float(client_time))
        except ValueError:
            return False

    def is_newer(self, client: bytes, client_time: bytes) -> bool:
        # Ordered as floats, as validated: a nan compares false with every time (Decimal's
        # ordering would raise on it and drop the connection, which is nan_time_no_reply's bug).
        stored = self.table.get(client)
        return stored is None or float(client_time) > float(stored[0])


if __name__ == "__main__":
    main(NanTimeAccepted)
