"""One bug: the Places answer is written with str() of the parsed dict, not as JSON (single
quotes, True/None), so the WHATSAT reply's body is no JSON (WHATSAT-6)."""

from _base import HerdServer, main


class JsonAsDictRepr(HerdServer):
    def format_json(self, body: dict[str, object]) -> bytes:
        return str(body).encode()


if __name__ == "__main__":
    main(JsonAsDictRepr)
