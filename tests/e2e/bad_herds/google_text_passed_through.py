"""One bug: when Google's answer holds no more places than the bound, the herd passes Google's
text on as it came, its trailing newlines stripped but runs of newlines inside it kept, so an
answer with empty lines in it reaches the client with them (WHATSAT-6: the course has every run
of newlines made one). Only an answer it must cut is parsed and written again (a student herd's
shortcut). places-newlines-squeezed names it."""

from decimal import Decimal

from _base import HerdServer, main


class GoogleTextPassedThrough(HerdServer):
    async def places_text(self, location: str, radius: Decimal) -> str:
        # No await between this answer and the reply's writing (on_whatsat): the text kept is
        # this WHATSAT's.
        self.google_text = await super().places_text(location, radius)
        return self.google_text

    def truncate(self, results: list[object], bound: int) -> list[object]:
        self.cut = len(results) > bound
        return results[:bound]

    def format_json(self, body: dict[str, object]) -> bytes:
        text = self.__dict__.pop("google_text", None)
        if isinstance(text, str) and not self.__dict__.pop("cut", True):
            return text.rstrip("\n").encode()  # the bug: Google's own newlines kept
        return super().format_json(body)


if __name__ == "__main__":
    main(GoogleTextPassedThrough)
