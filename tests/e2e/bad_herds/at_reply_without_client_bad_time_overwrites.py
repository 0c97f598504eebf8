"""Two bugs, each in a decision of its own: the AT reply leaves out the client ID, so it has five
fields (AT-1; the record it stores and floods is right), and an IAMAT refused '?' for a bad
client time has already written its location into the client's record (IAMAT-2). The second is
judged through the first: invalid-iamat-unchanged reads which report a server holds from the
location and client time its answers carry."""

from _base import main
from bad_time_overwrites_location import BadTimeOverwritesLocation


class AtReplyWithoutClientBadTimeOverwrites(BadTimeOverwritesLocation):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        fields = at_line.split(b" ")
        return b" ".join([*fields[:3], *fields[4:]])  # bug 1: no client ID in the reply


if __name__ == "__main__":
    main(AtReplyWithoutClientBadTimeOverwrites)
