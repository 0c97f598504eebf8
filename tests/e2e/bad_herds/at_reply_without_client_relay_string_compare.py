"""Two bugs, each in a decision of its own: the AT reply leaves out the client ID, so it has five
fields (AT-1; the record it stores and floods is right), and a record from a neighbour is
compared with the stored one as a string, so a flooded server keeps ``999.5`` over ``1000.5``
(FLOOD-2). The second is judged through the first: newer-by-value reads which report each server
holds from the location and client time its line carries."""

from _base import main
from relay_string_compare import RelayStringCompare


class AtReplyWithoutClientRelayStringCompare(RelayStringCompare):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        fields = at_line.split(b" ")
        return b" ".join([*fields[:3], *fields[4:]])  # bug 1: no client ID in the reply


if __name__ == "__main__":
    main(AtReplyWithoutClientRelayStringCompare)
