"""Two bugs, each in a decision of its own: the AT reply is 'AT <server> <time-diff> ' plus the
whole IAMAT command, so the word IAMAT is a seventh field (AT-1), and a negative time difference
is written with two minus signs ('-' + str(diff)), so a client time ahead of the server's clock
gets '--3600.000000001' (AT-2). The sign is judged in the malformed line all the same: the
field in the time difference's place is none of the fields that carry the report."""

from decimal import Decimal

from _base import HerdServer, main


class AtReplyRepeatsCommandDoubleMinus(HerdServer):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        fields = at_line.split(b" ")
        return b" ".join([*fields[:3], b"IAMAT", *fields[3:]])  # bug 1: the word IAMAT

    def time_diff(self, received: float, client_time: bytes) -> bytes:
        diff = Decimal(repr(received)) - Decimal(client_time.decode())
        return (f"+{diff:.9f}" if diff >= 0 else f"-{diff:.9f}").encode()  # bug 2: '--'

    def time_diff_ok(self, time_diff: bytes) -> bool:
        # The herd reads back what it writes, so its own floods are not refused.
        return super().time_diff_ok(time_diff.replace(b"--", b"-"))


if __name__ == "__main__":
    main(AtReplyRepeatsCommandDoubleMinus)
