"""Request heads whose lines end in LF alone, or that name their host only in an absolute-form
target, as Google's front end accepts them.

Herds that speak HTTP over a raw socket (asyncio ``create_connection`` with a hand-written
``GET ... HTTP/1.1\\nHost: ...\\n\\n``) are answered by Google, whose front end takes a bare LF as
a line end (RFC 9112 section 2.2 lets a recipient do so). aiohttp's parser refuses such a head
with 400 "Expected CRLF", so without this the fixture would answer what Google answers with an
error, and every WHATSAT check of such a herd would be UNSUPPORTED for the fixture's sake.

:class:`LenientHeadProtocol` sits between the transport and aiohttp's request handler and
rewrites each request head's bare LFs to CRLF before the handler reads it. Bodies pass
unchanged (``Content-Length`` octets); after a chunked body, whose end this does not parse,
the rest of the connection passes unchanged.
"""

from __future__ import annotations

import asyncio
import re
from typing import Final

__all__ = ["LenientHeadProtocol", "normalise_head"]

#: The end of a request head, whatever mix of LF and CRLF its lines end in.
_HEAD_END: Final = re.compile(rb"\r?\n\r?\n")
_BARE_LF: Final = re.compile(rb"(?<!\r)\n")
_CONTENT_LENGTH: Final = re.compile(rb"^content-length:[ \t]*([0-9]+)[ \t]*\r$", re.IGNORECASE | re.MULTILINE)
_CHUNKED: Final = re.compile(rb"^transfer-encoding:.*chunked", re.IGNORECASE | re.MULTILINE)
#: A request line whose target is in absolute form (``GET https://host/path HTTP/1.1``): the host.
_ABSOLUTE_TARGET: Final = re.compile(rb"[A-Z]+ [A-Za-z][A-Za-z0-9+.-]*://([^/?#\s]+)\S* HTTP/1\.[01]\r\n")
_HOST_FIELD: Final = re.compile(rb"^host[ \t]*:", re.IGNORECASE | re.MULTILINE)
#: A head longer than this is handed on as it is, for aiohttp to refuse (its own limit is 8 KiB
#: per line).
_MAX_HEAD: Final = 65_536


def normalise_head(head: bytes) -> bytes:
    """A request head (up to and including its empty line) with every line ended by CRLF, and,
    for an absolute-form target without a Host field, the target's host as Host."""
    head = _BARE_LF.sub(b"\r\n", head)
    target = _ABSOLUTE_TARGET.match(head)
    if target is not None and _HOST_FIELD.search(head) is None:
        # RFC 9112 section 3.2.2: a server takes the host of an absolute-form target (and
        # ignores any Host field). Google answers such a request without Host (a student herd's
        # own log shows it); aiohttp refuses it with 400 "Missing 'Host' header".
        line_end = head.index(b"\r\n") + 2
        head = head[:line_end] + b"Host: " + target.group(1) + b"\r\n" + head[line_end:]
    return head


class LenientHeadProtocol(asyncio.Protocol):
    """Wraps one aiohttp request handler (``web.AppRunner.server()``): every call of the
    transport is passed on, and the request heads in the data are normalised first."""

    def __init__(self, inner: asyncio.Protocol) -> None:
        self._inner = inner
        self._head = bytearray()
        self._body_left = 0
        self._pass_through = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def eof_received(self) -> bool | None:
        if self._head:
            # An unfinished head goes on as it came, for the handler to judge.
            self._inner.data_received(bytes(self._head))
            self._head.clear()
        return self._inner.eof_received()

    def data_received(self, data: bytes) -> None:
        out = bytearray()
        while data:
            if self._pass_through:
                out += data
                break
            if self._body_left:
                body, data = data[: self._body_left], data[self._body_left :]
                out += body
                self._body_left -= len(body)
                continue
            self._head += data
            data = b""
            end = _HEAD_END.search(self._head)
            if end is None:
                if len(self._head) > _MAX_HEAD:
                    out += self._head
                    self._head.clear()
                    self._pass_through = True
                break
            head = normalise_head(bytes(self._head[: end.end()]))
            data = bytes(self._head[end.end() :])
            self._head.clear()
            out += head
            if _CHUNKED.search(head):
                self._pass_through = True
            else:
                length = _CONTENT_LENGTH.search(head)
                self._body_left = int(length.group(1)) if length else 0
        if out:
            self._inner.data_received(bytes(out))
