"""One bug: the client time is validated with float() and infinity refused, but nan passes and
then int(float(time)) raises in the handler, so an IAMAT whose time is `nan` drops the
connection with no reply (ERR-4: a line the course leaves open still gets an answer)."""

import math

from _base import HerdServer, main


class NanTimeNoReply(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        try:
            value = float(client_time)
        except ValueError:
            return False
        if math.isinf(value):
            return False
        int(value)  # the bug: ValueError for nan escapes the handler
        return True


if __name__ == "__main__":
    main(NanTimeNoReply)
