"""One bug: a client time must be greater than zero ("time must be positive"), so an IAMAT at
the epoch, 0 or 0.000, is refused with '?' while any other time, with or without a fraction, is
taken (IAMAT-6: a client time far from the server's clock is not a reason to refuse)."""

from decimal import Decimal

from _base import HerdServer, main


class TimeZeroRefused(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        return super().time_ok(client_time) and Decimal(client_time.decode()) > 0


if __name__ == "__main__":
    main(TimeZeroRefused)
