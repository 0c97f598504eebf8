"""One bug: the client time is parsed as a float and printed back (IAMAT-5)."""

from _base import HerdServer, main


class FloatTimestamp(HerdServer):
    def echo_time(self, client_time: bytes) -> bytes:
        return repr(float(client_time)).encode()


if __name__ == "__main__":
    main(FloatTimestamp)
