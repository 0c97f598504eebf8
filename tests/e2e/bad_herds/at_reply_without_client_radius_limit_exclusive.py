"""Two bugs, each in a decision of its own: the AT reply leaves out the client ID, so it has five
fields (AT-1; the record it stores and floods is right), and the radius limit is exclusive, so a
50 km radius is refused (WHATSAT-2). The second is judged through the first: limits-accepted
needs only an IAMAT answered with an AT line that carries its location and client time."""

from _base import main
from radius_limit_exclusive import RadiusLimitExclusive


class AtReplyWithoutClientRadiusLimitExclusive(RadiusLimitExclusive):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        fields = at_line.split(b" ")
        return b" ".join([*fields[:3], *fields[4:]])  # bug 1: no client ID in the reply


if __name__ == "__main__":
    main(AtReplyWithoutClientRadiusLimitExclusive)
