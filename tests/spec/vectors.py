"""Load the shared test vectors of spec/vectors/ and decode their octet strings.

The vector format is described in spec/vectors/README.md and spec/vectors/schema.json. This
module knows only that format, not herdref: the tests decide what to run each vector against.

Octet strings: a key ``K`` holds a JSON string of characters U+0000..U+007F, one octet each;
``K_hex`` holds the octets in hexadecimal. Field values in expectations are either such a
string or ``{"hex": "..."}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
VECTOR_DIR: Final = REPO_ROOT / "spec" / "vectors"
SPEC_PATH: Final = REPO_ROOT / "SPEC.md"
SCHEMA_PATH: Final = VECTOR_DIR / "schema.json"

#: A clause ID as SPEC.md writes it.
CLAUSE_RE: Final = re.compile(
    r"\b(?:SCOPE|LEX|FRAME|IAMAT|WHATSAT|AT|ERR|FLOOD|LINK|CATCHUP|PEER|STATE|LIMIT|LOG|PLACES|CONF)-[0-9]+\b"
)


@dataclass(frozen=True)
class Vector:
    """One vector and the file it came from."""

    file: str
    type: str
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    def octets(self, key: str) -> bytes:
        return decode_octets(self.data, key)


def decode_octets(holder: dict[str, Any], key: str) -> bytes:
    """The octets stored under ``key`` (ASCII string) or ``key_hex`` (hexadecimal)."""
    if key in holder:
        text = holder[key]
        if not isinstance(text, str) or any(ord(char) > 0x7F for char in text):
            raise ValueError(f"{key!r} must be an ASCII string (use {key}_hex for other octets)")
        return text.encode("ascii")
    return bytes.fromhex(holder[key + "_hex"])


def decode_field(value: str | dict[str, str]) -> bytes:
    """A field value of an expectation: an ASCII string or ``{"hex": ...}``."""
    if isinstance(value, str):
        return value.encode("ascii")
    return bytes.fromhex(value["hex"])


def vector_files() -> list[Path]:
    return sorted(VECTOR_DIR.glob("*.json"), key=lambda path: path.name)


def load_documents() -> dict[str, dict[str, Any]]:
    """Every vector file except the schema, by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="ascii"))
        for path in vector_files()
        if path != SCHEMA_PATH
    }


def all_vectors() -> Iterator[Vector]:
    for name, document in load_documents().items():
        for data in document["vectors"]:
            yield Vector(name, document["type"], data)


def vectors_of(type_: str) -> list[Vector]:
    return [vector for vector in all_vectors() if vector.type == type_]


def spec_clauses() -> set[str]:
    """The clause IDs SPEC.md defines: every ``**ID**`` at the start of a paragraph."""
    text = SPEC_PATH.read_text(encoding="utf-8")
    return set(re.findall(r"^\*\*([A-Z]+-[0-9]+)\*\*", text, flags=re.MULTILINE))


#: ``**ID** · LEVEL · profile —`` at the start of a clause (LEVEL is ``definition`` for a
#: clause that only defines terms).
_CLAUSE_HEAD_RE: Final = re.compile(r"^\*\*([A-Z]+-[0-9]+)\*\* · (.*?) —", flags=re.MULTILINE)


def spec_clause_tags() -> dict[str, list[str]]:
    """Each clause's tags as SPEC.md writes them: ``["MUST", "core"]``, ``["definition", "core"]``..."""
    text = SPEC_PATH.read_text(encoding="utf-8")
    return {
        clause: [tag.strip() for tag in tags.split("·")] for clause, tags in _CLAUSE_HEAD_RE.findall(text)
    }
