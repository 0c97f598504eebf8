"""Two bugs: the WHATSAT reply's body is the bare results array, not the Places JSON object
(WHATSAT-6), and the results are cut to the radius field's number instead of the bound (a
student herd swapped the two fields: WHATSAT-7). The count of a bare array is still a count."""

from decimal import Decimal

from _base import main
from whatsat_body_bare_array import WhatsatBodyBareArray


class BareArrayCutToRadius(WhatsatBodyBareArray):
    radius_km = Decimal(0)

    def radius_param(self, radius_km: Decimal) -> str:
        self.radius_km = radius_km  # asked just before the cut, in the same WHATSAT
        return super().radius_param(radius_km)

    def truncate(self, results: list[object], bound: int) -> list[object]:
        return results[: int(self.radius_km)]  # the bug: the radius field, not the bound


if __name__ == "__main__":
    main(BareArrayCutToRadius)
