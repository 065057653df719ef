"""A small async HTTP/1.1 client for JSON POSTs to one endpoint, over a keep-alive connection pool.

It replaces httpx and the openai SDK on the model path: their layers cost 1.4-1.9 ms of CPU per
chat completion (this client 0.29 ms, bench/llm_client.py), more than the rest of an iteration, and
one origin with one kind of request needs little of them. Stdlib only: bodies by Content-Length,
chunked or read-to-close; one deadline for the whole answer, so a server trickling bytes cannot hold
a call past it; a body cap; the standard proxy variables (CONNECT for https targets, absolute-form
requests for http ones).
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_HEAD_BYTES = 64 * 1024  # status line plus headers; also the StreamReader's line limit
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_PORTS = {"http": 80, "https": 443}
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class HTTPError(Exception):
    """No complete HTTP answer; ``str()`` says why in a few words."""


class ConnectFailed(HTTPError):
    """The connection could not be opened (DNS, refused, TLS, proxy): the endpoint was not reached."""


class ConnectTimeout(ConnectFailed):
    """Opening the connection (TCP, proxy tunnel, TLS) took longer than the connect timeout."""


class AnswerTimeout(HTTPError):
    """The whole answer, headers and body, did not arrive within the timeout."""


class Broken(HTTPError):
    """The connection dropped mid-exchange, or what came back is not HTTP."""


class BodyTooLarge(HTTPError):
    """The body is larger than MAX_BODY_BYTES: a misbehaving endpoint must not exhaust memory."""


class _Stale(Exception):
    """The connection was closed before any byte of the answer (a keep-alive the server dropped)."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]  # names lowercased; repeated headers joined with ", "
    body: bytes


def _authority(host: str, port: int, scheme: str | None) -> str:
    """``host[:port]`` as in a Host header (the port omitted when it is the scheme's default)."""
    name = f"[{host}]" if ":" in host else host
    return name if DEFAULT_PORTS.get(scheme or "") == port else f"{name}:{port}"


def _proxy_for(scheme: str, host: str) -> SplitResult | None:
    """The proxy that ``http(s)_proxy``/``no_proxy`` choose for ``host``; local hosts never use one."""
    if host in LOCAL_HOSTS:
        return None
    import urllib.request  # here only: it imports http.client and email, which nothing else needs

    proxies = urllib.request.getproxies()
    url = proxies.get(scheme) or proxies.get("all")
    if not url or urllib.request.proxy_bypass(host):
        return None
    proxy = urlsplit(url if "://" in url else f"http://{url}")
    if proxy.scheme not in DEFAULT_PORTS or not proxy.hostname:
        raise ConnectFailed(f"unsupported proxy {url!r}: only http:// and https:// proxies are")
    return proxy


class Pool:
    """Keep-alive connections to the origin of ``base_url``, directly or through the proxy.

    A connection goes back to the pool only when the answer allowed it (HTTP/1.1 without
    ``Connection: close``, body fully read); the caller bounds concurrency, so the pool never holds
    more idle connections than that. ``headers`` are sent with every request.
    """

    def __init__(self, base_url: str, connect_timeout: float, headers: dict[str, str]) -> None:
        url = urlsplit(base_url)
        self.scheme, self.host = url.scheme, url.hostname or ""
        self.port = url.port or DEFAULT_PORTS[self.scheme]
        self.connect_timeout = connect_timeout
        self.proxy = _proxy_for(self.scheme, self.host)
        self.connections_opened = 0
        self._proxy_auth = ""
        if self.proxy and self.proxy.username is not None:
            secret = f"{unquote(self.proxy.username)}:{unquote(self.proxy.password or '')}"
            self._proxy_auth = f"Proxy-Authorization: Basic {base64.b64encode(secret.encode()).decode()}\r\n"
        via_proxy = self.proxy is not None and self.scheme == "http"  # absolute-form requests
        self._prefix = f"http://{_authority(self.host, self.port, 'http')}" if via_proxy else ""
        lines = {"Host": _authority(self.host, self.port, self.scheme), **headers}
        self._head = "".join(f"{name}: {value}\r\n" for name, value in lines.items())
        self._head += self._proxy_auth if via_proxy else ""
        self._idle: list[Connection] = []
        self._context: ssl.SSLContext | None = None
        self._closed = False

    async def post(self, target: str, body: bytes, timeout: float) -> Response:
        """POST ``body`` to ``target`` (path and query); the answer must be complete within ``timeout``.

        A reused connection found closed before any byte of the answer is replaced once by a fresh
        one within the same deadline: a server may drop an idle keep-alive at any moment.
        """
        head = f"POST {self._prefix}{target} HTTP/1.1\r\n{self._head}Content-Length: {len(body)}\r\n\r\n"
        request = head.encode("latin-1") + body
        deadline: float | None = None
        stale = False
        while True:
            connection = None if stale else self._take()
            reused = connection is not None
            connection = connection or await self._connect()
            deadline = deadline or asyncio.get_running_loop().time() + timeout
            try:
                async with asyncio.timeout_at(deadline):
                    response, keep = await self._exchange(*connection, request)
            except _Stale:
                connection[1].close()
                if stale := reused:
                    continue
                raise Broken("closed without an answer") from None
            except TimeoutError:
                connection[1].close()
                raise AnswerTimeout(f"no complete answer within {timeout:g} s") from None
            except BaseException:  # Broken, BodyTooLarge, or the call was cancelled mid-exchange
                connection[1].close()
                raise
            if keep and not self._closed:
                self._idle.append(connection)
            else:
                connection[1].close()
            return response

    async def aclose(self) -> None:
        """Close the idle connections; those in use close when their answer is in."""
        self._closed = True
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()

    def _take(self) -> Connection | None:
        """The most recently used idle connection that the server has not visibly closed."""
        while self._idle:
            reader, writer = self._idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.close()
        return None

    async def _connect(self) -> Connection:
        proxy = self.proxy
        via = (
            (proxy.scheme, proxy.hostname or "", proxy.port) if proxy else (self.scheme, self.host, self.port)
        )
        tls, host, port = via[0] == "https", via[1], via[2] or DEFAULT_PORTS[via[0]]
        where = f" via proxy {_authority(host, port, None)}" if proxy else ""
        try:
            async with asyncio.timeout(self.connect_timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=self._ssl() if tls else None, limit=MAX_HEAD_BYTES
                )
                try:
                    if proxy and self.scheme == "https":
                        await self._tunnel(reader, writer)
                        await writer.start_tls(self._ssl(), server_hostname=self.host)
                except BaseException:
                    writer.close()
                    raise
        except TimeoutError:
            raise ConnectTimeout(f"no connection within {self.connect_timeout:g} s{where}") from None
        except (ssl.SSLError, socket.gaierror) as error:  # a TLS failure, or no such host
            raise ConnectFailed(f"{error}{where}") from error
        except OSError as error:
            raise ConnectFailed(f"All connection attempts failed{where}") from error
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
            raise ConnectFailed(f"no tunnel from the proxy {_authority(host, port, None)}") from error
        self.connections_opened += 1
        return reader, writer

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Ask the proxy for a CONNECT tunnel to the target (for an https target)."""
        target = _authority(self.host, self.port, None)
        writer.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n{self._proxy_auth}\r\n".encode())
        await writer.drain()
        status = _parse_head(await reader.readuntil(b"\r\n\r\n"))[0]
        if not 200 <= status < 300:
            raise ConnectFailed(f"the proxy refused a tunnel to {target} (HTTP {status})")

    def _ssl(self) -> ssl.SSLContext:
        """One verifying context per pool, built on first use: loading the CA store costs milliseconds."""
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> tuple[Response, bool]:
        """Send ``request`` and read one answer; also says whether the connection may be reused."""
        try:
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            raise (Broken("closed in the middle of the headers") if error.partial else _Stale()) from None
        except (ConnectionResetError, BrokenPipeError):
            raise _Stale from None
        except asyncio.LimitOverrunError:
            raise Broken(f"headers longer than {MAX_HEAD_BYTES} bytes") from None
        except OSError as error:
            raise Broken(f"{type(error).__name__} before the answer") from None
        try:
            status, version, headers = _parse_head(head)
            while 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
                status, version, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
            keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
            if status in (204, 304):
                body = b""
            elif "chunked" in headers.get("transfer-encoding", "").lower():
                body = await _read_chunked(reader)
            elif "content-length" in headers:
                length = int(headers["content-length"])
                if length > MAX_BODY_BYTES:
                    raise BodyTooLarge(f"a body of {length} bytes")
                body = await reader.readexactly(length)  # ValueError if negative
            else:
                body, keep = await _read_to_close(reader), False
        except asyncio.IncompleteReadError:
            raise Broken("closed in the middle of the answer") from None
        except (asyncio.LimitOverrunError, ValueError):
            raise Broken("an answer that is not valid HTTP/1.1") from None
        except OSError as error:
            raise Broken(f"{type(error).__name__} in the middle of the answer") from None
        return Response(status, headers, body), keep


def _parse_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    """Status, HTTP version and headers of a head ending in a blank line; ValueError if malformed."""
    lines = head.decode("latin-1").split("\n")
    version, _, rest = lines[0].strip().partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise ValueError("not an HTTP status line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError("a header line without a colon")
        name, value = name.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return int(code), version, headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A ``Transfer-Encoding: chunked`` body, trailers skipped."""
    parts: list[bytes] = []
    total = 0
    while True:
        line = await reader.readuntil(b"\n")
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size < 0:
            raise ValueError("a negative chunk size")
        if size == 0:
            break
        total += size
        if total > MAX_BODY_BYTES:
            raise BodyTooLarge(f"a chunked body of more than {MAX_BODY_BYTES} bytes")
        parts.append(await reader.readexactly(size))
        if (await reader.readuntil(b"\n")).strip():
            raise ValueError("a chunk longer than its size")
    while (await reader.readuntil(b"\n")).strip():  # trailer fields, up to the blank line
        pass
    return b"".join(parts)


async def _read_to_close(reader: asyncio.StreamReader) -> bytes:
    """A body without a length: everything until the server closes the connection."""
    parts: list[bytes] = []
    total = 0
    while chunk := await reader.read(1 << 16):
        total += len(chunk)
        if total > MAX_BODY_BYTES:
            raise BodyTooLarge(f"a body of more than {MAX_BODY_BYTES} bytes")
        parts.append(chunk)
    return b"".join(parts)
