"""Two bugs, each in a decision of its own: the AT reply leaves out the client ID, so it has five
fields (AT-1; the record it stores and floods is right), and WHATSAT rebuilds the location from
the two numbers it parsed, so a record stored at +0.0-0.0 comes back as +0.0+-0.0 (WHATSAT-5).
The second is judged through the first: whatsat-location-forms compares the location WHATSAT
shows with the one the malformed AT reply carries."""

from _base import main
from signed_zero_rebuilt import SignedZeroRebuilt


class AtReplyWithoutClientSignedZeroRebuilt(SignedZeroRebuilt):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        fields = at_line.split(b" ")
        return b" ".join([*fields[:3], *fields[4:]])  # bug 1: no client ID in the reply


if __name__ == "__main__":
    main(AtReplyWithoutClientSignedZeroRebuilt)
