"""A strict deviation, not a bug: the client time is validated with float() and only infinity
refused, so nan is taken (with 1e9, -5, 1_000, .5 and 5.) and answered with an AT line whose
time difference is NaN (LEX-6; the course leaves the form open, SPEC decision A19, protocol
notes A18: float() takes nan). nan_time_no_reply.py is the same validator with a crash after
it. Times are still ordered exactly, so that the herd shows this one deviation."""

import math
from decimal import Decimal

from _base import HerdServer, main


class NanTimeAccepted(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        try:
            return not math.isinf(float(client_time))
        except ValueError:
            return False

    def is_newer(self, client: bytes, client_time: bytes) -> bool:
        # Exact, as the base herd orders times, but a nan is newer than nothing (as a float it
        # compares false with every time; Decimal's ordering would raise on it and drop the
        # connection, which is nan_time_no_reply's bug).
        stored = self.table.get(client)
        if stored is None:
            return True
        candidate, held = Decimal(client_time.decode()), Decimal(stored[0].decode())
        return not (candidate.is_nan() or held.is_nan()) and candidate > held


if __name__ == "__main__":
    main(NanTimeAccepted)
