"""One bug: an IAMAT whose client time is more than a minute ahead of the server's clock is refused
(IAMAT-6)."""

import time
from decimal import Decimal

from _base import HerdServer, main


class FutureTimeRefused(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        return super().time_ok(client_time) and Decimal(client_time.decode()) <= Decimal(time.time() + 60)


if __name__ == "__main__":
    main(FutureTimeRefused)
