"""Two bugs, each in a decision of its own: the AT reply leaves out the client ID, so it has five
fields (AT-1; the record it stores and floods is right), and IAMAT takes the last two fields as
location and time and the rest as the client ID, so an extra field in the middle is accepted
(IAMAT-1). The second is judged through the first: extra-field-anywhere judges '?' replies, and
needs only an IAMAT answered with an AT line that carries its location and client time."""

from _base import main
from extra_field_middle import ExtraFieldMiddle


class AtReplyWithoutClientExtraFieldMiddle(ExtraFieldMiddle):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        fields = at_line.split(b" ")
        return b" ".join([*fields[:3], *fields[4:]])  # bug 1: no client ID in the reply


if __name__ == "__main__":
    main(AtReplyWithoutClientExtraFieldMiddle)
