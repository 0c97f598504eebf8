"""Run the shared vectors of spec/vectors/ against herdref, and hold SPEC.md, the grammar and
the code to one set of clause IDs.

* line vectors: both parsers (``parse_line`` and the grammar oracle ``parse_line_lark``), and
  for invalid lines the ``?`` reply of ``error_reply`` and of a fresh ``HerdNode``;
* time_diff vectors: ``format_time_diff``; newness vectors: ``is_newer`` both ways;
* reply vectors: the grammar's ``at_reply`` and ``error_reply`` start symbols;
* whatsat_reply vectors: the ``whatsat_reply`` start symbol plus the checks a grammar cannot
  make (one JSON object, at most ``bound`` results);
* node vectors: a ``HerdNode`` fed line by line (replies, floods, Places look-ups);
* places_request vectors: the look-up a ``HerdNode`` makes for a WHATSAT, turned into a legacy
  URL and a New API body by ``herdref.places.client``;
* stream vectors: a real ``HerdServer`` on a loopback port, fed whole or one octet at a time,
  then half-closed; everything it sends until it closes must match.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from lark.exceptions import LarkError

from herdref.herd.config import Limits, ServerAddress, parse_config
from herdref.herd.node import HerdNode, PlacesLookup, Session
from herdref.herd.peer_auth import PeerAuthenticator
from herdref.herd.server import HerdServer
from herdref.places.client import PlacesError, legacy_request_url, new_request_body
from herdref.protocol import (
    At,
    IAmAt,
    Message,
    Peer,
    ProtocolError,
    WhatsAt,
    error_reply,
    format_time_diff,
    is_newer,
    lark_parser,
    parse_line,
    parse_line_lark,
)

from .vectors import (
    CLAUSE_RE,
    REPO_ROOT,
    SCHEMA_PATH,
    SPEC_PATH,
    Vector,
    all_vectors,
    decode_field,
    decode_octets,
    load_documents,
    spec_clause_tags,
    spec_clauses,
    vectors_of,
)

MINIMUM_VECTORS = 150

PARSERS: dict[str, Callable[[bytes], Message | None]] = {"fast": parse_line, "lark": parse_line_lark}
MESSAGE_CLASSES: dict[str, type] = {"IAMAT": IAmAt, "WHATSAT": WhatsAt, "AT": At, "PEER": Peer}


def by_id(vectors: list[Vector]) -> Any:
    return pytest.mark.parametrize("vector", vectors, ids=[vector.id for vector in vectors])


def message_fields(message: Message) -> dict[str, bytes]:
    """A parsed message as the vectors write it: every field as octets, the bound in decimal."""
    fields: dict[str, bytes] = {}
    for name in type(message).__slots__:
        value = getattr(message, name)
        fields[name] = b"%d" % value if isinstance(value, int) else value
    return fields


# ---- lines ---------------------------------------------------------------------------------


@pytest.mark.parametrize("parser", PARSERS)
@by_id(vectors_of("line"))
def test_line(vector: Vector, parser: str) -> None:
    line = vector.octets("line")
    expect = vector.data["expect"]
    parse = PARSERS[parser]
    if expect["outcome"] == "blank":
        assert parse(line) is None
    elif expect["outcome"] == "message":
        message = parse(line)
        assert isinstance(message, MESSAGE_CLASSES[expect["kind"]])
        expected = {name: decode_field(value) for name, value in expect["fields"].items()}
        assert message_fields(message) == expected
    else:
        with pytest.raises(ProtocolError):
            parse(line)


@by_id([vector for vector in vectors_of("line") if vector.data["expect"]["outcome"] == "error"])
def test_invalid_line_reply(vector: Vector) -> None:
    line = vector.octets("line")
    expected = decode_octets(vector.data["expect"], "reply")
    assert error_reply(line) == expected
    reaction = HerdNode("Clark", ["Bona"]).receive(Session(), line, 0)
    assert reaction.reply == expected
    assert reaction.flood_to == ()


@by_id([vector for vector in vectors_of("line") if vector.data["expect"]["outcome"] == "blank"])
def test_blank_line_gets_no_reply(vector: Vector) -> None:
    reaction = HerdNode("Clark", ["Bona"]).receive(Session(), vector.octets("line"), 0)
    assert (reaction.reply, reaction.lookup, reaction.flood_to) == (None, None, ())


# ---- numbers -------------------------------------------------------------------------------


@by_id(vectors_of("time_diff"))
def test_time_diff(vector: Vector) -> None:
    received_ns = int(vector.data["received_ns"])
    client_time = vector.data["client_time"].encode("ascii")
    assert format_time_diff(received_ns, client_time) == vector.data["expect"]["time_diff"].encode("ascii")


@by_id(vectors_of("newness"))
def test_newness(vector: Vector) -> None:
    a, b = vector.data["a"].encode("ascii"), vector.data["b"].encode("ascii")
    order = vector.data["expect"]["order"]
    assert is_newer(a, b) == (order == "a_newer")
    assert is_newer(b, a) == (order == "b_newer")


# ---- what servers send ---------------------------------------------------------------------


def grammar_accepts(text: bytes, start: str) -> bool:
    try:
        lark_parser().parse(text.decode("latin-1"), start=start)
    except LarkError:
        return False
    return True


@by_id(vectors_of("reply"))
def test_reply_grammar(vector: Vector) -> None:
    assert grammar_accepts(vector.octets("line"), vector.data["start"]) == vector.data["expect"]["valid"]


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def whatsat_reply_problem(reply: bytes, bound: int) -> str | None:
    """Why ``reply`` is not a valid WHATSAT reply for ``bound`` (WHATSAT-5..7), or None."""
    if not grammar_accepts(reply, "whatsat_reply"):
        return "grammar"
    body = reply[reply.index(b"\n") + 1 : -2]
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError):
        return "json"
    if not isinstance(document, dict):
        return "not-object"
    for key in ("results", "places"):
        if key in document:
            if not isinstance(document[key], list):
                return "not-array"
            if len(document[key]) > bound:
                return "over-bound"
    return None


@by_id(vectors_of("whatsat_reply"))
def test_whatsat_reply(vector: Vector) -> None:
    problem = whatsat_reply_problem(vector.octets("reply"), vector.data["bound"])
    expect = vector.data["expect"]
    assert problem == (None if expect["valid"] else expect["reason"])


# ---- one server ----------------------------------------------------------------------------


@by_id(vectors_of("node"))
def test_node_scenario(vector: Vector) -> None:
    secret = vector.data.get("peer_secret")
    node = HerdNode(
        vector.data["server"],
        vector.data["neighbours"],
        incarnation="vectors",
        peer_auth=None if secret is None else PeerAuthenticator(secret.encode("ascii")),
    )
    sessions: dict[str, Session] = {}
    for number, step in enumerate(vector.data["steps"]):
        expect = step["expect"]
        if "link_up" in step:
            where = f"step {number}: link up {step['link_up']}"
            flood_to = node.link_up(step["link_up"])
            reply, lookup = None, None
        else:
            where = f"step {number}: {step['line']!r}"
            session = sessions.setdefault(step["session"], Session())
            reaction = node.receive(session, step["line"].encode("ascii"), int(step["received_ns"]))
            flood_to, reply, lookup = reaction.flood_to, reaction.reply, reaction.lookup
        expected_reply = None if expect["reply"] is None else expect["reply"].encode("ascii")
        assert reply == expected_reply, where
        if "lookup" not in expect:
            assert lookup is None, where
        else:
            assert lookup is not None, where
            seen = {
                "at_line": lookup.at_line.decode("ascii"),
                "latitude": lookup.latitude,
                "longitude": lookup.longitude,
                "radius_km": lookup.radius_km.decode("ascii"),
                "bound": lookup.bound,
            }
            assert seen == expect["lookup"], where
        expected_floods = {
            neighbour: sorted(line.encode("ascii") for line in expect["flood"].get(neighbour, []))
            for neighbour in node.neighbours
        }
        if step.get("hold"):
            assert {neighbour: node.pending(neighbour) for neighbour in node.neighbours} == {
                neighbour: len(lines) for neighbour, lines in expected_floods.items()
            }, where
            continue
        floods = {neighbour: sorted(node.take_outbox(neighbour)) for neighbour in node.neighbours}
        assert floods == expected_floods, where
        if not any(previous.get("hold") for previous in vector.data["steps"][max(number - 1, 0) : number]):
            assert set(flood_to) == {name for name, lines in expected_floods.items() if lines}, where


# ---- Places requests -----------------------------------------------------------------------


@by_id(vectors_of("places_request"))
def test_places_request(vector: Vector) -> None:
    node = HerdNode("Clark", [])
    location = vector.data["location"].encode("ascii")
    assert node.receive(Session(), b"IAMAT k " + location + b" 1", 1_000_000_000).reply is not None
    whatsat = b"WHATSAT k %s %d" % (vector.data["radius_km"].encode("ascii"), vector.data["bound"])
    lookup = node.receive(Session(), whatsat, 1_000_000_000).lookup
    assert lookup is not None
    expect = vector.data["expect"]
    assert (lookup.latitude, lookup.longitude) == (expect["latitude"], expect["longitude"])

    url = urlsplit(legacy_request_url("http://127.0.0.1:9", lookup, None))
    assert url.path == "/maps/api/place/nearbysearch/json"
    query = parse_qs(url.query, strict_parsing=True)
    assert query == {
        "location": [f"{expect['latitude']},{expect['longitude']}"],
        "radius": [expect["radius_m"]],
    }

    body = new_request_body(lookup)
    circle = body["locationRestriction"]["circle"]
    assert circle["center"] == {
        "latitude": float(expect["latitude"]),
        "longitude": float(expect["longitude"]),
    }
    assert circle["radius"] == float(expect["radius_m"])
    assert body["maxResultCount"] == vector.data["bound"]


# ---- one server on a real socket ----------------------------------------------------------


class NoPlaces:
    """Stream vectors never need places; a look-up is a failure of the vector or the server."""

    async def nearby(self, lookup: PlacesLookup) -> bytes:
        raise PlacesError(f"stream vectors make no Places look-up, got {lookup.request_line!r}")

    async def aclose(self) -> None:
        return None


async def _send(writer: asyncio.StreamWriter, data: bytes, delivery: str) -> None:
    chunks = [data] if delivery == "whole" else [data[index : index + 1] for index in range(len(data))]
    for chunk in chunks:
        writer.write(chunk)
        await writer.drain()
    writer.write_eof()


@pytest.mark.parametrize("delivery", ["whole", "octet-by-octet"])
@by_id(vectors_of("stream"))
async def test_stream(vector: Vector, delivery: str) -> None:
    config = parse_config("[servers]\nSolo = { port = 1 }\n")
    config = dataclasses.replace(
        config,
        servers={"Solo": ServerAddress("127.0.0.1", 0)},
        limits=Limits(max_line_bytes=vector.data.get("max_line_bytes", Limits().max_line_bytes)),
    )
    received_ns = int(vector.data["received_ns"])
    server = HerdServer(config, "Solo", places=NoPlaces(), clock_ns=lambda: received_ns)
    await server.start()
    try:
        port = server.client_port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            sender = asyncio.create_task(_send(writer, vector.octets("input"), delivery))
            output = await asyncio.wait_for(reader.read(), 10)
            # The server may close before the last octets are sent (LIMIT-1); that is its right.
            await asyncio.gather(sender, return_exceptions=True)
        finally:
            writer.close()
            await asyncio.gather(writer.wait_closed(), return_exceptions=True)
    finally:
        await server.close()
    assert output == decode_octets(vector.data["expect"], "output")


# ---- the vector files themselves -----------------------------------------------------------


def test_vector_count() -> None:
    assert len(list(all_vectors())) >= MINIMUM_VECTORS


def test_vector_ids_are_unique() -> None:
    ids = [vector.id for vector in all_vectors()]
    duplicates = sorted({name for name in ids if ids.count(name) > 1})
    assert duplicates == []


#: The key of each vector type that holds octets as ``K`` or ``K_hex``.
_OCTET_KEYS = {"line": "line", "reply": "line", "whatsat_reply": "reply", "stream": "input"}
_REQUIRED: dict[str, set[str]] = {
    "line": {"id", "clause", "expect"},
    "time_diff": {"id", "clause", "received_ns", "client_time", "expect"},
    "newness": {"id", "clause", "a", "b", "expect"},
    "reply": {"id", "clause", "start", "expect"},
    "whatsat_reply": {"id", "clause", "bound", "expect"},
    "node": {"id", "clause", "server", "neighbours", "steps"},
    "stream": {"id", "clause", "received_ns", "expect"},
    "places_request": {"id", "clause", "location", "radius_km", "bound", "expect"},
}


def hand_check(document: dict[str, Any]) -> list[str]:
    """The structural rules of schema.json that matter most, without a schema library."""
    problems: list[str] = []
    type_ = document.get("type")
    if type_ not in _REQUIRED:
        return [f"unknown type {type_!r}"]
    for vector in document["vectors"]:
        name = vector.get("id", "?")
        missing = _REQUIRED[type_] - set(vector)
        if missing:
            problems.append(f"{name}: missing {sorted(missing)}")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", str(name)):
            problems.append(f"{name}: bad id")
        if not CLAUSE_RE.fullmatch(str(vector.get("clause", ""))):
            problems.append(f"{name}: bad clause")
        key = _OCTET_KEYS.get(type_)
        if key is not None:
            forms = [form for form in (key, key + "_hex") if form in vector]
            if len(forms) != 1:
                problems.append(f"{name}: needs exactly one of {key}, {key}_hex")
            else:
                try:
                    decode_octets(vector, key)
                except ValueError as exc:
                    problems.append(f"{name}: {exc}")
    return problems


def test_vector_files_follow_the_schema() -> None:
    documents = load_documents()
    problems = [
        f"{name}: {problem}" for name, document in documents.items() for problem in hand_check(document)
    ]
    assert problems == []
    if importlib.util.find_spec("jsonschema") is not None:
        import jsonschema

        schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        errors = [
            f"{name}: {'/'.join(map(str, error.absolute_path))}: {error.message}"
            for name, document in documents.items()
            for error in validator.iter_errors(document)
        ]
        assert errors == []
        # The schema is not vacuous: a line vector with both octet forms, a non-ASCII line and
        # an expectation of the wrong shape breaks it.
        broken = {
            "type": "line",
            "description": "broken on purpose",
            "vectors": [{"id": "x", "clause": "LEX-1", "line": "\u00e9", "line_hex": "00", "expect": {}}],
        }
        assert list(validator.iter_errors(broken)) != []


def test_hand_check_catches_broken_vectors() -> None:
    broken = {
        "type": "line",
        "vectors": [
            {"id": "X", "clause": "NOPE-1", "line": "a", "line_hex": "00"},
            {"id": "non-ascii", "clause": "LEX-1", "line": "é", "expect": {"outcome": "blank"}},
        ],
    }
    assert hand_check(broken) == [
        "X: missing ['expect']",
        "X: bad id",
        "X: bad clause",
        "X: needs exactly one of line, line_hex",
        "non-ascii: 'line' must be an ASCII string (use line_hex for other octets)",
    ]


# ---- clause IDs ----------------------------------------------------------------------------


def cited_clauses(paths: list[Path]) -> dict[str, set[str]]:
    cited: dict[str, set[str]] = {}
    for path in paths:
        for clause in CLAUSE_RE.findall(path.read_text(encoding="utf-8")):
            cited.setdefault(clause, set()).add(str(path.relative_to(REPO_ROOT)))
    return cited


def undefined(cited: dict[str, set[str]]) -> dict[str, set[str]]:
    defined = spec_clauses()
    return {clause: where for clause, where in cited.items() if clause not in defined}


def test_spec_defines_clauses() -> None:
    defined = spec_clauses()
    assert {"LEX-1", "FLOOD-2", "WHATSAT-6", "CATCHUP-1"} <= defined
    text = SPEC_PATH.read_text(encoding="utf-8")
    for clause in defined:
        assert len(re.findall(rf"^\*\*{clause}\*\*", text, flags=re.MULTILINE)) == 1, clause


def test_every_clause_has_a_level_and_a_profile() -> None:
    tags = spec_clause_tags()
    assert set(tags) == spec_clauses()
    for clause, clause_tags in tags.items():
        level, profile = clause_tags
        assert level in ("MUST", "MUST NOT", "SHOULD", "MAY", "definition"), clause
        assert profile.removesuffix(", *planned*") in ("core", "strict", "catchup", "herdref"), clause


def test_every_vector_clause_is_in_the_spec() -> None:
    defined = spec_clauses()
    assert sorted({vector.data["clause"] for vector in all_vectors()} - defined) == []


def test_every_grammar_clause_is_in_the_spec() -> None:
    assert undefined(cited_clauses([REPO_ROOT / "spec" / "grammar.lark"])) == {}


def _sources(folder: str, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(
        path for path in (REPO_ROOT / folder).rglob("*") if path.suffix in suffixes and path.is_file()
    )


def test_every_clause_cited_in_the_code_is_in_the_spec() -> None:
    assert undefined(cited_clauses(_sources("herdref", (".py", ".toml", ".lark")))) == {}


def test_every_clause_cited_in_tests_and_docs_is_in_the_spec() -> None:
    paths = _sources("tests", (".py",)) + _sources("benchmarks", (".py", ".md"))
    paths += [path for path in (REPO_ROOT / "README.md", REPO_ROOT / "CONTRIBUTING.md") if path.exists()]
    assert undefined(cited_clauses(paths)) == {}


def test_every_clause_cited_in_the_spec_is_defined() -> None:
    assert undefined(cited_clauses([SPEC_PATH])) == {}


def test_every_ambiguity_has_a_decision() -> None:
    text = SPEC_PATH.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (A[0-9]+) \|(.*)$", text, flags=re.MULTILINE))
    numbers = sorted(int(row[1:]) for row in rows)
    # A1-A24 are the ambiguities the protocol notes list; rows after them are ones found since
    # (line length A25, one read per command A26), numbered on without gaps.
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 24, numbers
    for row, rest in rows.items():
        assert CLAUSE_RE.search(rest), f"{row} names no clause"
