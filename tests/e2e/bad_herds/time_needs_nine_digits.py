"""One bug: a client time must have exactly nine fractional digits, as in the handout's examples
(``1621464827.959498503``), so a time written with fewer or more, such as the TA client's
``str(time.time())`` (``1646265487.1234567``) or ``1.5``, gets ``? <line>`` (LEX-6: any number of
integer and fractional digits is allowed). A time without a fraction is refused too, which the
course allows."""

import re

from _base import HerdServer, main

_NINE_DIGIT_TIME = re.compile(rb"[0-9]+\.[0-9]{9}")


class TimeNeedsNineDigits(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        return _NINE_DIGIT_TIME.fullmatch(client_time) is not None


if __name__ == "__main__":
    main(TimeNeedsNineDigits)
