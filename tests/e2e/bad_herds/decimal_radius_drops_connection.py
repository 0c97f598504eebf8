"""One bug: the radius is converted with int() outside any try, so a WHATSAT with a decimal radius
(50.5, 0.5) drops the connection with no reply instead of '? <line>' (WHATSAT-2)."""

from decimal import Decimal

from _base import HerdServer, main


class DecimalRadiusDropsConnection(HerdServer):
    def radius_ok(self, radius: Decimal) -> bool:
        return 0 < int(str(radius)) <= 50  # the bug: ValueError escapes the handler


if __name__ == "__main__":
    main(DecimalRadiusDropsConnection)
