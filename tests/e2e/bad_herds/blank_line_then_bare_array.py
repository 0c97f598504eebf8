"""Two bugs in one reply, named by one FAIL: the WHATSAT reply has an empty line after the AT
line (WHATSAT-5), and what follows it is the bare results array, not the Places JSON object
(WHATSAT-6). whatsat-reply must name both: the empty line ends the reply for a client, so no
later check can read the body past it (a student herd wrote its reply this way)."""

from _base import main
from blank_line_after_at import BlankLineAfterAt
from whatsat_body_bare_array import WhatsatBodyBareArray


class BlankLineThenBareArray(BlankLineAfterAt, WhatsatBodyBareArray):
    pass


if __name__ == "__main__":
    main(BlankLineThenBareArray)
