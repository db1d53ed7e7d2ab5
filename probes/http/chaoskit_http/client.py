"""A small HTTP/1.1 client for the ``http`` probe: one request per connection, on the ``socket`` module.

Why not ``urllib.request``: importing it (with ``http.client``, ``email.parser`` and ``ssl``) costs about 46 M
instructions, 4 % of a short ``chaoskit run``. Here ``ssl`` is imported only for an https URL, and an ASCII
host name goes to the resolver as bytes (a ``str`` makes ``socket`` import the ``idna`` codec). What urllib
did for the probe is kept: any method, headers, a body, TLS with or without verification, redirects (at most
10; 301/302/303 turn a POST into a GET; other methods are not redirected), and the proxies of the environment
(``http_proxy``, ``https_proxy``, ``no_proxy``; https goes through a CONNECT tunnel). The timeout is one
deadline for connecting, sending and reading the whole response.
"""

from __future__ import annotations

import base64
import os
import socket
import time
from io import BufferedReader
from typing import Any
from urllib.parse import SplitResult, quote, unquote, urljoin, urlsplit

from chaoskit import __version__

MAX_REDIRECTS = 10
_MAX_LINE = 65536
_MAX_HEADERS = 100
_REDIRECTS = (301, 302, 303, 307, 308)


class HttpFailure(Exception):
    """The server's answer was not HTTP/1.x as expected (the message says what was wrong)."""


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


def request(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float, verify_tls: bool, follow: bool
) -> Response:
    """Send one request (and follow its redirects when ``follow``); raises OSError or HttpFailure."""
    for _ in range(MAX_REDIRECTS + 1):
        response = _exchange(method, url, headers, body, timeout, verify_tls)
        target = _redirect(response, method, url) if follow else None
        if target is None:
            return response
        if urlsplit(target).hostname != urlsplit(url).hostname:
            headers = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")}
        if response.status in (301, 302, 303) and method == "POST":
            method, body = "GET", None
            headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")}
        url = target
    return response  # the last redirect, as urllib returned it: its status is the observation


def _redirect(response: Response, method: str, url: str) -> str | None:
    if response.status not in _REDIRECTS:
        return None
    if not (method in ("GET", "HEAD") or (method == "POST" and response.status in (301, 302, 303))):
        return None
    location = next((v for k, v in response.headers.items() if k.lower() in ("location", "uri")), None)
    if not location:
        return None
    target = urljoin(url, location)
    return target if target.startswith(("http://", "https://")) else None


def _exchange(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float, verify_tls: bool
) -> Response:
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    if not parts.hostname:
        raise HttpFailure(f"no host in {url!r}")
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    proxy = _proxy(parts)
    target = f"{parts.path or '/'}{'?' + parts.query if parts.query else ''}"
    if not target.isascii():
        target = quote(target, safe="!#$%&'()*+,/:;=?@[]~")
    extra: dict[str, str] = {}
    if proxy is not None:
        sock = connect(proxy.hostname or "", proxy.port or 80, _left(deadline))
        if https:
            _tunnel(sock, proxy, parts.hostname, port, deadline)
        else:
            target = parts._replace(fragment="").geturl()
            extra = _proxy_auth(proxy)
    else:
        sock = connect(parts.hostname, port, _left(deadline))
    try:
        if https:
            sock = _tls(sock, parts.hostname, verify_tls)
        lines = [f"{method} {target} HTTP/1.1", *_header_lines(method, parts, https, headers, body, extra), "", ""]
        try:
            head = "\r\n".join(lines).encode("latin-1")
        except UnicodeEncodeError:
            raise HttpFailure("a header has characters outside Latin-1 (percent-encode them)") from None
        sock.sendall(head + (body or b""))
        with sock.makefile("rb") as stream:
            return _read_response(stream, sock, method, deadline)
    finally:
        sock.close()


def _header_lines(
    method: str, parts: SplitResult, https: bool, given: dict[str, str], body: bytes | None, extra: dict[str, str]
) -> list[str]:
    host = parts.hostname or ""
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    host = f"[{host}]" if ":" in host else host
    headers = {
        "Host": host if parts.port in (None, 443 if https else 80) else f"{host}:{parts.port}",
        "User-Agent": f"chaoskit/{__version__}",
        "Accept-Encoding": "identity",
        "Connection": "close",
    }
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"  # urllib's default for a body
    for name, value in {**extra, **given}.items():
        if any(c in name for c in "\r\n:") or "\r" in value or "\n" in value:
            raise HttpFailure(f"header {name!r}: a line break in its name or value (or a ':' in its name)")
        headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}  # the last one given wins
        headers[name] = value
    if body is not None or method in ("POST", "PUT", "PATCH"):
        headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
        headers["Content-Length"] = str(len(body or b""))
    return [f"{name}: {value}" for name, value in headers.items()]


def connect(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection; an ASCII host name goes to the resolver as bytes (no ``idna`` codec import)."""
    address: Any = host.encode() if host.isascii() else host
    return socket.create_connection((address, port), timeout=timeout)


def _tls(sock: socket.socket, host: str, verify: bool) -> socket.socket:
    import ssl  # only for https URLs

    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context.wrap_socket(sock, server_hostname=host)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


def _line(stream: BufferedReader, sock: socket.socket, deadline: float) -> bytes:
    sock.settimeout(_left(deadline))
    line = stream.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise HttpFailure(f"a response line longer than {_MAX_LINE} bytes")
    return line


def _read_head(stream: BufferedReader, sock: socket.socket, deadline: float) -> tuple[int, dict[str, str]]:
    """The status and headers of the final response (1xx interim responses are skipped)."""
    while True:
        first = _line(stream, sock, deadline)
        if not first:
            raise HttpFailure("the server closed the connection without a response")
        version, _, rest = first.decode("latin-1").rstrip("\r\n").partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise HttpFailure(f"not an HTTP/1.x status line: {first[:80]!r}")
        headers: dict[str, str] = {}
        name = ""
        for _ in range(_MAX_HEADERS + 1):
            line = _line(stream, sock, deadline).decode("latin-1").rstrip("\r\n")
            if not line:
                break
            if line[0] in " \t" and name:  # an obsolete folded continuation line
                headers[name] += " " + line.strip()
                continue
            name, _, value = line.partition(":")
            headers[name] = value.strip()
        else:
            raise HttpFailure(f"more than {_MAX_HEADERS} response headers")
        if not 100 <= int(code) < 200:
            return int(code), headers


def _read_response(stream: BufferedReader, sock: socket.socket, method: str, deadline: float) -> Response:
    status, headers = _read_head(stream, sock, deadline)
    lower = {k.lower(): v for k, v in headers.items()}
    if method == "HEAD" or status in (204, 304):
        body = b""
    elif "chunked" in lower.get("transfer-encoding", "").lower():
        body = _read_chunked(stream, sock, deadline)
    elif "content-length" in lower:
        length = lower["content-length"].strip()
        if not length.isdigit():
            raise HttpFailure(f"a bad Content-Length: {length[:40]!r}")
        body = _read_exactly(stream, sock, int(length), deadline)
    else:
        body = _read_exactly(stream, sock, -1, deadline)
    return Response(status, headers, body)


def _read_exactly(stream: BufferedReader, sock: socket.socket, size: int, deadline: float) -> bytes:
    """``size`` bytes (all until the server closes when -1), each read within the deadline."""
    chunks: list[bytes] = []
    got = 0
    while size < 0 or got < size:
        sock.settimeout(_left(deadline))
        chunk = stream.read1(65536 if size < 0 else min(65536, size - got))
        if not chunk:
            if size >= 0:
                raise HttpFailure(f"the connection closed after {got} of {size} body bytes")
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read_chunked(stream: BufferedReader, sock: socket.socket, deadline: float) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_line = _line(stream, sock, deadline).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise HttpFailure(f"a bad chunk size line: {size_line[:40]!r}") from None
        if size == 0:
            while _line(stream, sock, deadline).strip():  # trailers, up to the blank line
                pass
            return b"".join(chunks)
        chunks.append(_read_exactly(stream, sock, size, deadline))
        _line(stream, sock, deadline)  # the CRLF after the chunk


# -- proxies from the environment, as urllib reads them ---------------------------------------------------------
def _proxy(parts: SplitResult) -> SplitResult | None:
    proxies: dict[str, str] = {}
    for name, value in os.environ.items():  # upper-case names first, lower-case ones win
        if name[-6:].lower() == "_proxy" and value and not name.islower():
            proxies[name[:-6].lower()] = value
    if "REQUEST_METHOD" in os.environ:  # CGI: HTTP_PROXY may come from a request header
        proxies.pop("http", None)
    for name, value in os.environ.items():
        if name[-6:] == "_proxy" and name.islower():
            proxies[name[:-6]] = value
    url = proxies.get(parts.scheme)
    if not url or _bypass(parts, proxies.get("no", "")):
        return None
    return urlsplit(url if "://" in url else "http://" + url)


def _bypass(parts: SplitResult, no_proxy: str) -> bool:
    if no_proxy.strip() == "*":
        return True
    host = (parts.hostname or "").lower()
    with_port = f"{host}:{parts.port}" if parts.port else host
    for entry in no_proxy.split(","):
        name = entry.strip().lstrip(".").lower()
        if name and (name in (host, with_port) or host.endswith("." + name) or with_port.endswith("." + name)):
            return True
    return False


def _proxy_auth(proxy: SplitResult) -> dict[str, str]:
    if proxy.username is None:
        return {}
    user_pass = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(user_pass).decode("ascii")}


def _tunnel(sock: socket.socket, proxy: SplitResult, host: str, port: int, deadline: float) -> None:
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    lines += [f"{k}: {v}" for k, v in _proxy_auth(proxy).items()]
    try:
        sock.sendall("\r\n".join([*lines, "", ""]).encode("latin-1"))
        with sock.makefile("rb") as stream:
            status, _ = _read_head(stream, sock, deadline)
    except BaseException:
        sock.close()
        raise
    if status != 200:
        sock.close()
        raise HttpFailure(f"the proxy {proxy.hostname}:{proxy.port or 80} refused to tunnel to {authority}: {status}")
