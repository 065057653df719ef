"""JSON POSTs to one model endpoint over httpx, with every failure sorted into a few kinds.

httpx keeps the protocol work (HTTP/1.1 framing, TLS with certifi's CA bundle or ``SSL_CERT_FILE``,
proxies from ``http(s)_proxy``/``all_proxy``/``no_proxy`` including SOCKS with ``evoforge[socks]``);
this module adds what a model call needs on top: one deadline for the whole answer, so a server
trickling bytes cannot hold a call past it; a body cap; a kept-alive connection that the server
dropped under a request is replaced once; and errors that say whether the endpoint was reached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

MAX_BODY_BYTES = 32 * 1024 * 1024
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_NEW_CONNECTION = "connection.connect_tcp.complete"  # httpcore's trace event for an opened connection
_DROPPED = "Server disconnected without sending a response."  # httpcore: closed before any byte


class HTTPError(Exception):
    """No complete HTTP answer; ``str()`` says why in a few words."""


class ConnectFailed(HTTPError):
    """The connection could not be opened (DNS, refused, TLS, proxy): the endpoint was not reached."""


class ConnectTimeout(ConnectFailed):
    """Opening the connection (TCP, proxy tunnel, TLS) took longer than the connect timeout."""


class AnswerTimeout(HTTPError):
    """The whole exchange, connecting included, did not end within the timeout."""


class Broken(HTTPError):
    """The connection dropped mid-exchange, or what came back is not HTTP."""


class BodyTooLarge(HTTPError):
    """The body is larger than MAX_BODY_BYTES: a misbehaving endpoint must not exhaust memory."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]  # case-insensitive names; repeated headers joined with ", "
    body: bytes


class Pool:
    """httpx clients that POST to ``url``, keeping up to ``connections`` alive in all.

    httpcore scans every connection of a client's pool on each request and answer, so one client
    holding 64 connections cost 11-13 ms of CPU per call where clients of 8 cost 5
    (bench/RESULTS.md): the connections are split among clients of at most ``SHARD`` each, and a
    call goes to the least busy one. Requests are built directly, not through ``client.post``,
    whose merging and parsing cost about 15 % more CPU per call. ``headers`` go with every request.
    Local hosts never go through a proxy (a proxy variable set for the internet must not capture a
    model served on this machine). ``connections_opened`` counts the connections made.
    """

    SHARD = 8

    def __init__(self, url: str, connect_timeout: float, headers: dict[str, str], connections: int) -> None:
        self.connect_timeout = connect_timeout
        self.connections_opened = 0
        self._url = httpx.URL(url)
        self._timeouts = httpx.Timeout(None, connect=connect_timeout).as_dict()
        parts = urlsplit(url)
        host = parts.hostname or ""
        name = f"[{host}]" if ":" in host else host
        self._authority = f"{name}:{parts.port or {'http': 80, 'https': 443}[parts.scheme]}"
        direct: dict[str, httpx.AsyncBaseTransport | None] = (
            {f"all://{name}": None} if host in LOCAL_HOSTS else {}
        )
        sizes = [min(self.SHARD, connections - start) for start in range(0, connections, self.SHARD)]
        try:
            tls = httpx.create_ssl_context(trust_env=True)  # certifi, or SSL_CERT_FILE / SSL_CERT_DIR
            self._clients = [
                httpx.AsyncClient(
                    headers=headers,
                    verify=tls,
                    timeout=httpx.Timeout(None, connect=connect_timeout),
                    limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
                    trust_env=True,
                    mounts=direct,
                )
                for size in sizes
            ]
        except ImportError as error:  # httpx names the missing package (socksio for a socks5:// proxy)
            raise ConnectFailed(f"{error} (pip install 'evoforge[socks]')") from None
        except ValueError as error:  # a proxy URL httpx cannot use
            raise ConnectFailed(f"unusable proxy setting: {error}") from None
        self._busy = [0] * len(self._clients)
        self._headers = self._clients[0].headers  # httpx's defaults overridden by ``headers``

    async def post(self, body: bytes, timeout: float) -> Response:
        """POST ``body``; the answer must be complete within ``timeout`` seconds.

        A reused connection that the server closed without answering (it may drop an idle
        keep-alive at any moment) is replaced once within the same deadline.
        """
        try:
            async with asyncio.timeout(timeout):
                opened: list[bool] = []  # the trace notes it when this request opens a connection
                try:
                    return await self._exchange(body, opened)
                except (httpx.RemoteProtocolError, httpx.WriteError) as error:
                    if opened or (isinstance(error, httpx.RemoteProtocolError) and str(error) != _DROPPED):
                        raise
                return await self._exchange(body, [])
        except TimeoutError:
            raise AnswerTimeout(f"no complete answer within {timeout:g} s") from None
        except httpx.ConnectTimeout:
            raise ConnectTimeout(f"no connection within {self.connect_timeout:g} s") from None
        except httpx.ProxyError as error:
            raise ConnectFailed(f"the proxy refused a tunnel to {self._authority} ({error})") from None
        except (httpx.ConnectError, httpx.UnsupportedProtocol) as error:
            raise ConnectFailed(str(error) or type(error).__name__) from None
        except httpx.TransportError as error:
            raise Broken(_broken(error)) from None

    async def aclose(self) -> None:
        """Close the connections; a call still in flight fails as a broken exchange."""
        for client in self._clients:
            await client.aclose()

    async def _exchange(self, body: bytes, opened: list[bool]) -> Response:
        async def trace(event: str, info: object) -> None:
            if event == _NEW_CONNECTION:
                self.connections_opened += 1
                opened.append(True)

        extensions = {"timeout": self._timeouts, "trace": trace}
        request = httpx.Request("POST", self._url, headers=self._headers, content=body, extensions=extensions)
        shard = min(range(len(self._busy)), key=self._busy.__getitem__)
        self._busy[shard] += 1
        try:
            return await self._read(await self._clients[shard].send(request, stream=True))
        finally:
            self._busy[shard] -= 1

    async def _read(self, response: httpx.Response) -> Response:
        """The whole body of a streamed ``response``, given up as soon as it passes the cap."""
        try:
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > MAX_BODY_BYTES:
                raise BodyTooLarge(f"a body of {length} bytes")
            parts: list[bytes] = []
            total = 0
            async for part in response.aiter_raw():
                total += len(part)
                if total > MAX_BODY_BYTES:
                    raise BodyTooLarge(f"a body of more than {MAX_BODY_BYTES} bytes")
                parts.append(part)
        finally:
            await response.aclose()
        return Response(response.status_code, response.headers, b"".join(parts))


def _broken(error: httpx.TransportError) -> str:
    """A few words for an exchange that went wrong after connecting."""
    said = " ".join(str(error).split())
    if isinstance(error, httpx.RemoteProtocolError):
        return (
            f"not a valid HTTP answer ({said})" if said and said != _DROPPED else "closed without an answer"
        )
    return f"{type(error).__name__} mid-exchange{f' ({said})' if said else ''}"
