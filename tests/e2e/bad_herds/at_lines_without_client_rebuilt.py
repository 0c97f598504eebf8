"""Two bugs, each in a decision of its own: every AT line a client gets leaves out the client ID,
so it has five fields (AT-1: the IAMAT reply and the WHATSAT's first line alike; the records it
stores and floods are right), and WHATSAT answers with the record's time difference worked out
again at query time (WHATSAT-5). The second is judged through the first: the WHATSAT's first
line is compared with the IAMAT reply field by field, both being of one (malformed) shape."""

import time

from _base import HerdServer, main


def without_client(at_line: bytes) -> bytes:
    fields = at_line.split(b" ")
    return b" ".join([*fields[:3], *fields[4:]])


class AtLinesWithoutClientRebuilt(HerdServer):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        return without_client(at_line)  # bug 1: no client ID in the lines clients get

    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        fields = stored[1].split(b" ")
        fields[2] = self.time_diff(time.time(), fields[5])  # bug 2: worked out again
        return without_client(b" ".join(fields))


if __name__ == "__main__":
    main(AtLinesWithoutClientRebuilt)
