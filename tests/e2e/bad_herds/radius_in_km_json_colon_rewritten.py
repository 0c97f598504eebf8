"""Two bugs: the radius goes to Places in kilometres, not metres (PLACES-2), and every ':' of
the JSON text becomes ' :' (PLACES-3), which changes values such as URLs. The second must be
found whatever radius the request carried (the pattern of a student herd with both)."""

from decimal import Decimal

from _base import HerdServer, main


class RadiusInKmColonRewritten(HerdServer):
    def radius_param(self, radius_km: Decimal) -> str:
        return str(radius_km)

    def format_json(self, body: dict[str, object]) -> bytes:
        return super().format_json(body).replace(b":", b" :")


if __name__ == "__main__":
    main(RadiusInKmColonRewritten)
