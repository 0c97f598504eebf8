"""Three bugs, as a student herd had them: the Places answer is written with str() of the
parsed dict (WHATSAT-6), right after the AT line with no LF between (WHATSAT-5), and its results
are not cut down to the bound (WHATSAT-7). whatsat-reply names the first two in one FAIL (the
body is judged from the AT line's own line), and whatsat-bound the third, read in the repr."""

from _base import HerdServer, main


class GluedDictReprUncut(HerdServer):
    def format_json(self, body: dict[str, object]) -> bytes:
        return str(body).encode()

    def whatsat_reply(self, at_line: bytes, body: bytes) -> list[bytes]:
        return [at_line, body + b"\n\n"]

    def truncate(self, results: list[object], bound: int) -> list[object]:
        return results


if __name__ == "__main__":
    main(GluedDictReprUncut)
