"""One bug: an AT line is stored and relayed unchecked, so a malformed one poisons the record and
gets no '?' (FLOOD-6)."""

from _base import HerdServer, main


class MalformedAtStored(HerdServer):
    def check_at(self, fields: list[bytes]) -> None:
        self.check_fields(fields, 6)  # the bug: the fields themselves are never checked


if __name__ == "__main__":
    main(MalformedAtStored)
