"""Which URLs the library may send to: https anywhere, plain http only to this machine.

The check must agree with the parser that connects (urllib3), or a URL could pass as
loopback here and connect elsewhere with the key in clear text
(``http://evil.example\\@127.0.0.1/`` is 127.0.0.1 to urllib.parse and evil.example to
urllib3). So nothing two parsers could read differently is accepted at all: no userinfo
(``@``), no backslash, no whitespace or control characters, no fragment, no query, no
percent-escapes in the host, and the host must be a plain DNS name, a dotted-quad IPv4
address or a bracketed IPv6 address (``127.1``, ``0x7f.0.0.1`` or ``2130706433`` are
refused rather than guessed at).
"""
from __future__ import annotations

import ipaddress
import re

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Optional, Tuple

_SCHEME = re.compile(r"^(https?)://", re.IGNORECASE)
_DNS_NAME = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
_DOTTED_QUAD = re.compile(r"\d{1,3}(\.\d{1,3}){3}", re.ASCII)
_PATH = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:/-]*")  # RFC 3986 path characters, no escapes
# Matched with fullmatch(): a "$" anchor would let a final newline through.


def check_url(url: object, what: str = "api_url") -> str:
    """The URL without a trailing /, or ValueError saying what is wrong with it."""
    if not isinstance(url, str):
        raise ValueError(f"{what} must be an http(s) URL string, not {type(url).__name__}")
    match = _SCHEME.match(url)
    if match is None:
        raise ValueError(f"{what} {url!r}: must start with https:// (or http:// to loopback)")
    scheme = match.group(1).lower()
    rest = url[match.end():]
    authority, slash, path = rest.partition("/")
    path = slash + path
    if not _PATH.fullmatch(path):
        raise ValueError(f"{what} {url!r}: the path may hold only plain URL characters "
                         "(no query, fragment, backslash, space or %-escapes)")
    host, port = _split_port(authority, what, url)
    loopback = _host_is_loopback(host, what, url)
    if scheme == "http" and not loopback:
        raise ValueError(f"{what} {url!r}: plain http is allowed only to loopback "
                         "(127.0.0.0/8, ::1, localhost); use https")
    base = f"{scheme}://{host}" + (f":{port}" if port is not None else "") + path
    return base.rstrip("/")


def _split_port(authority: str, what: str, url: str) -> Tuple[str, Optional[int]]:
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise ValueError(f"{what} {url!r}: unclosed [ in the host")
        host, after = authority[:end + 1], authority[end + 1:]
    else:
        host, colon, port_text = authority.partition(":")
        after = colon + port_text
    if after == "":
        return host, None
    if not after.startswith(":") or not after[1:].isdigit() or not after[1:].isascii() or len(after) > 6:
        raise ValueError(f"{what} {url!r}: the host may be followed only by :PORT")
    port = int(after[1:])
    if not 0 < port < 65536:
        raise ValueError(f"{what} {url!r}: port {port} is out of range")
    return host, port


def _host_is_loopback(host: str, what: str, url: str) -> bool:
    """True for a loopback host; ValueError for a host that is no plain name or address."""
    if host.startswith("[") and host.endswith("]"):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{what} {url!r}: {host} is not an IPv6 address") from None
        return address.is_loopback
    if _DOTTED_QUAD.fullmatch(host):
        try:
            return ipaddress.IPv4Address(host).is_loopback
        except ValueError:
            raise ValueError(f"{what} {url!r}: {host} is not an IPv4 address") from None
    if not _DNS_NAME.fullmatch(host) or host.replace(".", "").isdigit():
        raise ValueError(f"{what} {url!r}: {host!r} is not a host name or address")
    if host[-1:].isdigit() and host.rsplit(".", 1)[-1].isdigit():
        # all-digit last label: an IPv4 shorthand some resolvers accept (127.1); refused
        raise ValueError(f"{what} {url!r}: {host!r} looks like a shortened IP address; write it in full")
    return host.lower() == "localhost"


def is_loopback(url: str) -> bool:
    """True when `url` (one check_url passed) goes to this machine: such a request never
    goes through a proxy."""
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname or ""
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
