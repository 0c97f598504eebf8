"""One bug: the JSON is rebuilt from status and results only, dropping html_attributions and any
other key (PLACES-3)."""

from _base import HerdServer, main


class JsonKeysDropped(HerdServer):
    def format_json(self, body: dict[str, object]) -> bytes:
        return super().format_json({"results": body.get("results", []), "status": body.get("status")})


if __name__ == "__main__":
    main(JsonKeysDropped)
