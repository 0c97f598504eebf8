"""One bug: a line's second to fourth fields are read before its command word is looked at, so
any line of fewer than four fields (`IAMAT kiwi +34-118`, or an unknown word alone: `HELLO`)
raises IndexError and the connection is dropped without a reply (ERR-3: a command with the
wrong number of fields is invalid and gets '? <line>'), as a student's Hill herd does. An
unknown command word on a line of four or more fields is refused right."""

from _base import HerdServer, main


class FieldsReadBeforeCommand(HerdServer):
    async def answer(self, raw: bytes) -> list[bytes]:
        fields = self.split(self.strip_terminator(raw))
        _client, _second, _third = fields[1], fields[2], fields[3]  # the bug: read before the word
        return await super().answer(raw)


if __name__ == "__main__":
    main(FieldsReadBeforeCommand)
