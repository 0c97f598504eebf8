"""Dialect, no bug: the WHATSAT reply is the AT line, LF, the JSON and one LF, without the final
empty line; the server closes once the client has half-closed, so the close ends the reply
(WHATSAT-5 lenient, SPEC decision A21: the final LF LF may be missing at the close)."""

from _base import HerdServer, main


class WhatsatNoEmptyLine(HerdServer):
    ephemeral_links = True  # the reply's end is the close: one command per connection

    single_shot = True

    def whatsat_reply(self, at_line: bytes, body: bytes) -> list[bytes]:
        return [at_line + b"\n", body + b"\n"]


if __name__ == "__main__":
    main(WhatsatNoEmptyLine)
