"""How Statsig's client SDKs put a request on the wire, undone: where the key travels,
how the body is compressed and encoded, and the SDK's query parameters.

What arrives, as Statsig's clients send it (``@statsig/client-core`` ``NetworkCore``):

- the key in the ``STATSIG-API-KEY`` header (Statsig's HTTP API, our plugin) or in the
  query as ``k`` (the JS client: ``/v1/rgstr?k=client-…``, ``/v1/initialize?k=…``);
- a gzip body marked by ``Content-Encoding: gzip`` (HTTP's way) or by the query
  parameter ``gz=1`` and no header at all (the JS client, ``_tryToCompressBody``);
- a "statsig encoded" body marked ``se=1``: the JSON text through the browser's
  ``btoa`` (base64 of its Latin-1 code units), then the string reversed
  (``_tryEncodeBody``). A client encodes first and compresses after, so the fake
  undoes the compression first;
- the SDK's parameters in the query (``st`` type, ``sv`` version, ``t`` client time,
  ``sid`` session, ``ec`` event count) or in headers (``STATSIG-SDK-TYPE``, ...).
"""
from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from dataclasses import dataclass
from typing import Mapping, Optional

__all__ = ["BodyError", "Decoded", "decode", "undo_content_encoding", "api_key_of", "sdk_param",
           "encode_like_a_browser"]

#: the SDK values a request may carry, each as (header, query parameter)
SDK_PARAMS: dict[str, tuple[Optional[str], str]] = {
    "sdk_type": ("STATSIG-SDK-TYPE", "st"),
    "sdk_version": ("STATSIG-SDK-VERSION", "sv"),
    "client_time": ("STATSIG-CLIENT-TIME", "t"),
    "session_id": (None, "sid"),
    "event_count": ("STATSIG-EVENT-COUNT", "ec"),
}


class BodyError(ValueError):
    """The request body could not be decoded."""


@dataclass(frozen=True)
class Decoded:
    """A request body with every transport layer undone, and which layers there were."""

    raw: bytes                    # the JSON bytes, as the client first wrote them
    compressed_by: Optional[str]  # "header" (Content-Encoding), "query" (gz=1) or None
    encoded: bool                 # se=1: statsig encoding undone


def undo_content_encoding(data: bytes, encoding: str) -> bytes:
    """``data`` with an HTTP ``Content-Encoding`` (gzip, deflate, identity) undone."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return data
    try:
        if encoding == "gzip":
            return gzip.decompress(data)
        if encoding == "deflate":
            return zlib.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise BodyError(f"body is not valid {encoding}: {e}") from None
    raise BodyError(f"unsupported Content-Encoding {encoding!r}")


def decode(data: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> Decoded:
    """Undo what the request says was done to its body; BodyError when it does not hold."""
    compressed_by: Optional[str] = None
    encoding = headers.get("Content-Encoding") or ""
    if encoding.strip().lower() not in ("", "identity"):
        data, compressed_by = undo_content_encoding(data, encoding), "header"
    elif query.get("gz") == "1":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise BodyError(f"query gz=1 says gzip, but the body is not valid gzip: {e}") from None
        compressed_by = "query"
    encoded = query.get("se") == "1"
    if encoded:
        data = _undo_statsig_encoding(data)
    return Decoded(data, compressed_by, encoded)


def _undo_statsig_encoding(data: bytes) -> bytes:
    try:
        text = data.decode("ascii")[::-1]
        latin1 = base64.b64decode(text, validate=True).decode("latin-1")
    except (UnicodeDecodeError, binascii.Error, ValueError) as e:
        raise BodyError(f"query se=1 says statsig encoding, but the body is not reversed base64: {e}") from None
    # btoa() only takes code units up to 0xFF, so each byte is one character of the JSON text
    return latin1.encode("utf-8")


def encode_like_a_browser(text: str) -> bytes:
    """What ``_tryEncodeBody`` sends for ``text`` (tests use it; ValueError when a
    browser's ``btoa`` would refuse the text and the client would send it plain)."""
    try:
        latin1 = text.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("btoa() refuses characters above U+00FF") from None
    return base64.b64encode(latin1)[::-1]


def api_key_of(headers: Mapping[str, str], query: Mapping[str, str]) -> tuple[Optional[str], Optional[str]]:
    """(key, where it came from: "header" / "query" / None)."""
    key = headers.get("STATSIG-API-KEY")
    if key:
        return key, "header"
    key = query.get("k")
    if key:
        return key, "query"
    return None, None


def sdk_param(name: str, headers: Mapping[str, str], query: Mapping[str, str]) -> Optional[str]:
    """One of ``SDK_PARAMS`` from its header, else from its query parameter."""
    header, param = SDK_PARAMS[name]
    return (headers.get(header) if header else None) or query.get(param) or None
