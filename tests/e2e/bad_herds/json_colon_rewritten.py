"""One bug: every ':' of the JSON text becomes ' :' (Google's look), which also changes values such
as URLs (PLACES-3)."""

from _base import HerdServer, main


class JsonColonRewritten(HerdServer):
    def format_json(self, body: dict[str, object]) -> bytes:
        return super().format_json(body).replace(b":", b" :")


if __name__ == "__main__":
    main(JsonColonRewritten)
