"""No bug the course names: client times must have a fraction (``[0-9]+\\.[0-9]+``), as every
example of the handout and every TA client (``str(time.time())``) has one, so an integer-only
time such as ``1700000000`` gets ``? <line>``. LEX-6 accepts it in herdref's strict reading only."""

import re

from _base import HerdServer, main

_TIME_WITH_FRACTION = re.compile(rb"[0-9]+\.[0-9]+")


class TimeNeedsFraction(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        return _TIME_WITH_FRACTION.fullmatch(client_time) is not None


if __name__ == "__main__":
    main(TimeNeedsFraction)
