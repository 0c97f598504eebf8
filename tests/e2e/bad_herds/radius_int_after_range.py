"""One bug: the radius is range-checked as a float and then turned into an integer with
``int()`` on its text, outside any try: a decimal radius out of range (50.5) is refused with
'?', but one in range (0.5, 0.0) raises and the connection drops with no reply (ERR-4). The same
defect shows at invalid-radius (0.0) and at limits-edges (0.5): named once, by invalid-radius."""

from decimal import Decimal

from _base import HerdServer, main


class RadiusIntAfterRange(HerdServer):
    def radius_ok(self, radius: Decimal) -> bool:
        if not 0 <= float(radius) <= 50:
            return False
        return int(str(radius)) > 0  # the bug: ValueError for '0.5' and '0.0' escapes the handler


if __name__ == "__main__":
    main(RadiusIntAfterRange)
