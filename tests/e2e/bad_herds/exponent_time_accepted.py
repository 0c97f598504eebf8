"""A strict deviation, not a bug: the client time is validated with float() (only nan, which no
comparison can order, is refused), so 1e9, 1_000 and infinity are accepted (LEX-6; the course
leaves the form open, SPEC decision A19)."""

import math

from _base import HerdServer, main


class ExponentTimeAccepted(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        try:
            return not math.isnan(float(client_time))
        except ValueError:
            return False


if __name__ == "__main__":
    main(ExponentTimeAccepted)
