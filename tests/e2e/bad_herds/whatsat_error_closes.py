"""One bug: a WHATSAT whose radius or bound is no number gets its '? <line>' reply, and then
the server closes the connection (a student herd's handler wrote the '?' and then failed on a
variable it never set, which ended the connection): the client's next command on it is never
answered (ERR-1: after '? <line>' the connection stays open for more commands). An invalid
IAMAT leaves the connection open."""

from _base import BOUND_RE, RADIUS_RE, HerdServer, main


class WhatsatErrorCloses(HerdServer):
    def ends_connection_after(self, line: bytes) -> bool:
        fields = self.strip_terminator(line).split()
        return (
            fields[:1] == [b"WHATSAT"]
            and len(fields) == 4
            and (RADIUS_RE.fullmatch(fields[2]) is None or BOUND_RE.fullmatch(fields[3]) is None)
        )  # the bug: the handler ends after that '?'


if __name__ == "__main__":
    main(WhatsatErrorCloses)
