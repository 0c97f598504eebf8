"""One bug: each line is decoded with Python's 'unicode_escape' codec before it is split, so a
backslash in a client ID is read as the start of an escape ('\\t' becomes a tab, '\\x41' an
'A') and the AT reply echoes another ID than the client's, or a line with a tab and a newline
in it is refused (LEX-2: a client ID is any run of printable, non-white-space characters).
Student herds turned bytes into text this way."""

from _base import HerdServer, main


class IdUnicodeEscape(HerdServer):
    def split(self, line: bytes) -> list[bytes]:
        text = line.decode("unicode_escape", errors="replace")
        return text.encode("utf-8", errors="replace").split()


if __name__ == "__main__":
    main(IdUnicodeEscape)
