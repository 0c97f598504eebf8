"""One bug: a final line ended by EOF instead of LF is ignored ('messages must end in a newline')
(FRAME-2)."""

from _base import HerdServer, main


class EofLineDropped(HerdServer):
    def is_blank(self, line: bytes) -> bool:
        return not line.endswith(b"\n") or super().is_blank(line)


if __name__ == "__main__":
    main(EofLineDropped)
