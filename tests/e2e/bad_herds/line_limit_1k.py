"""One bug: the stream limit is 1 KiB, so a valid line over 1 KiB drops the connection unanswered (ERR-4)."""

from _base import HerdServer, main


class LineLimit1k(HerdServer):
    stream_limit = 1024  # readline() raises ValueError past it, which ends the handler


if __name__ == "__main__":
    main(LineLimit1k)
