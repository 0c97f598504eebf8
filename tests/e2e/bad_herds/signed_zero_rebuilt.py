"""One bug: WHATSAT rebuilds the AT line's location from the two numbers it parsed, putting a
'+' before each one whose value is not negative. -0.0 is not negative (float('-0.0') >= 0), so a
record stored at +0.0-0.0 comes back as +0.0+-0.0: the reply does not start with the stored
record (WHATSAT-5). Every other location comes back as sent."""

from _base import LOCATION_RE, HerdServer, main


class SignedZeroRebuilt(HerdServer):
    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        fields = stored[1].split(b" ")
        parts = LOCATION_RE.fullmatch(fields[4]).groups()
        unsigned = [part.decode().lstrip("+") for part in parts]
        fields[4] = "".join("+" + part if float(part) >= 0 else part for part in unsigned).encode()
        return b" ".join(fields)


if __name__ == "__main__":
    main(SignedZeroRebuilt)
