"""One bug: IAMAT takes the last two fields as location and time and the rest as the client ID, so
an extra field in the middle is accepted (IAMAT-1)."""

from _base import HerdServer, Invalid, main


class ExtraFieldMiddle(HerdServer):
    async def on_iamat(self, fields: list[bytes]) -> list[bytes]:
        if len(fields) < 4:
            raise Invalid
        # The bug: "client IDs may contain spaces", so the middle fields are joined.
        return await super().on_iamat([fields[0], b" ".join(fields[1:-2]), *fields[-2:]])


if __name__ == "__main__":
    main(ExtraFieldMiddle)
