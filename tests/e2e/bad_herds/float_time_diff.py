"""One bug: the time difference is computed in float, off by up to minutes for a client time with
19 integer digits (AT-2)."""

from _base import HerdServer, main


class FloatTimeDiff(HerdServer):
    def time_diff(self, received: float, client_time: bytes) -> bytes:
        return f"{received - float(client_time):+.9f}".encode()


if __name__ == "__main__":
    main(FloatTimeDiff)
