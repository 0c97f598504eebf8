"""One strict deviation, framed as a lenient dialect: the client time is echoed through a float
(IAMAT-5 strict), in single-line replies written without their final LF on connections the
server never closes (SPEC 1.1 and FRAME-4 lenient), as a herd that writes ``'AT %s ... %s' %
(..., float(time))`` and forgets both the LF and ``writer.close()`` does. A reader that waits
for the LF or the EOF waits out its whole timeout on every reply."""

from _base import main
from dialect_never_closes import NeverCloses


class FloatEchoNoLfKeptOpen(NeverCloses):
    one_line_replies_without_lf = True

    def echo_time(self, client_time: bytes) -> bytes:
        return repr(float(client_time)).encode()


if __name__ == "__main__":
    main(FloatEchoNoLfKeptOpen)
