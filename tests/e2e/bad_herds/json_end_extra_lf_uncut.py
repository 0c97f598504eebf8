"""One bug (WHATSAT-6): when Places has no more results than the bound (nothing is cut), the
reply's JSON is followed by three LFs instead of two (an extra newline kept from the text
Google sent), so a client reading up to the empty line sees a stray line after it."""

from _base import HerdServer, main


class JsonEndExtraLfUncut(HerdServer):
    def truncate(self, results: list[object], bound: int) -> list[object]:
        self.nothing_cut = len(results) <= bound
        return results[:bound]

    def whatsat_reply(self, at_line: bytes, body: bytes) -> list[bytes]:
        ending = b"\n\n\n" if getattr(self, "nothing_cut", False) else b"\n\n"
        return [at_line + b"\n", body + ending]


if __name__ == "__main__":
    main(JsonEndExtraLfUncut)
