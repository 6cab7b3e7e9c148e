"""An HTTP client for URLs that workflow authors write: it reaches the public internet only.

A URL in a workflow is chosen by a workspace's editor, and its host by whoever runs that host's DNS,
so a plain client would let either reach this server's own network (a cloud metadata endpoint, the
database, an admin port). Here:

- only http and https, with a host written as a name or a canonical address: numbers in other forms
  (2130706433, 0177.0.0.1, 0x7f.1) mean different hosts to different parsers and are refused;
- every connection, the first and each redirect's, resolves its host itself and refuses it unless
  every address the name resolves to is global (not loopback, private, link-local, CGNAT, ULA,
  multicast, reserved or unspecified, including IPv4 hidden in an IPv6 address), then connects to
  that vetted address. The check sits in the connection itself (a network backend under httpx), so
  a name that resolves differently a moment later (DNS rebinding) changes nothing; the URL keeps
  its host, so the Host header, SNI and the certificate check stay those of the name;
- redirects are followed here, at most MAX_REDIRECTS, each target checked like the first URL;
- no proxies from the environment, a total deadline over all hops, and a cap on the body read.
"""

import concurrent.futures
import functools
import ipaddress
import re
import socket
import time
from dataclasses import dataclass, field

import httpcore
import httpx

ALLOWED_SCHEMES = frozenset({"http", "https"})
MAX_REDIRECTS = 5
#: The most of a response body read; the rest is left unread.
MAX_BODY_BYTES = 1024 * 1024
#: IPv6 ranges carrying an IPv4 address in their last 32 bits (NAT64, IPv4-compatible).
_EMBEDDED_V4 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
#: A host that a URL parser may read as an IPv4 address: dot-separated decimal, octal or hex numbers.
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.IGNORECASE)
_HOSTNAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(Exception):
    """The request could not be made or completed; `transient` when trying later may succeed."""

    transient = True


class UnsafeURL(FetchError):
    """A URL or address this client refuses to reach."""

    transient = False


@dataclass
class Fetched:
    status: int
    headers: httpx.Headers
    content: bytes
    #: The body was longer than MAX_BODY_BYTES and was cut there.
    truncated: bool
    url: str
    #: The URLs redirected through, in order.
    redirects: list[str] = field(default_factory=list)


def address_problem(address: IPAddress) -> str | None:
    """What makes `address` unreachable for this client ("a loopback address"), or None for a global one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is None and any(address in network for network in _EMBEDDED_V4):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and (problem := address_problem(embedded)):
            return f"{problem} inside an IPv6 address"
        address = address.ipv4_mapped or address
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("shared (CGNAT)", address in ipaddress.IPv4Network("100.64.0.0/10")),
        ("non-global", not address.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"a {name} address"
    return None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _refuse_address(host: str, address: IPAddress, problem: str) -> UnsafeURL:
    shown = f"{host} ({address})" if host != str(address) else host
    return UnsafeURL(f"{shown} is {problem}; only public internet addresses can be called.")


def url_check(url: str | httpx.URL) -> httpx.URL:
    """The URL parsed, if this client may try it; UnsafeURL saying why not otherwise. Names are
    resolved later, by the connection (see the module's docstring)."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UnsafeURL(f"Not a valid URL: {exc}") from None
    if parsed.scheme not in ALLOWED_SCHEMES:
        shown = f"{parsed.scheme}://" if parsed.scheme else "no scheme"
        raise UnsafeURL(f"Only http:// and https:// URLs can be called, not {shown}.")
    host = parsed.raw_host.decode("ascii")  # an international name as its punycode
    if not host:
        raise UnsafeURL("The URL has no host.")
    address = _literal(host)
    if address is not None:
        if problem := address_problem(address):
            raise _refuse_address(host, address, problem)
    elif _NUMERIC_HOST.fullmatch(host):
        raise UnsafeURL(
            f"The host {host!r} is a number in a non-standard form; write an address as four decimal numbers "
            "(a public one), or use a name."
        )
    elif not _HOSTNAME.fullmatch(host) or len(host) > 253:
        raise UnsafeURL(f"The host {host!r} is not a valid host name.")
    return parsed


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, as the system resolver says (the one place tests patch)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


#: Threads that resolve names, so that a resolver that hangs can't hold a step past its timeout.
_RESOLVERS = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="resolve")


def vetted_addresses(host: str, port: int, timeout: float | None = None) -> list[str]:
    """`host`'s addresses if every one is global; UnsafeURL if any is not (one bad answer among good
    ones is how rebinding attacks hide), FetchError if the name doesn't resolve within `timeout`."""
    if (address := _literal(host)) is not None:
        found = [address]
    else:
        try:
            answers = _RESOLVERS.submit(lambda: resolve(host, port)).result(timeout=timeout)
            found = [ipaddress.ip_address(answer.split("%", 1)[0]) for answer in answers]
        except concurrent.futures.TimeoutError:
            raise FetchError(f"The host {host} could not be resolved within {timeout:g} seconds.") from None
        except (OSError, UnicodeError, ValueError) as exc:
            raise FetchError(f"The host {host} could not be resolved ({exc}).") from None
        if not found:
            raise FetchError(f"The host {host} has no address.")
    for address in found:
        if problem := address_problem(address):
            raise _refuse_address(host, address, problem)
    return [str(address) for address in found]


def tcp_connect(address: str, port: int, *, timeout: float | None, socket_options=None) -> httpcore.NetworkStream:
    """Opens the connection to an address already vetted (tests point this at a local server)."""
    return httpcore.SyncBackend().connect_tcp(address, port, timeout=timeout, socket_options=socket_options)


class _GuardedBackend(httpcore.SyncBackend):
    """Every connection httpx opens comes through here, redirects included."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        error: Exception | None = None
        for address in vetted_addresses(host, port, timeout):
            try:
                return tcp_connect(address, port, timeout=timeout, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise UnsafeURL("Unix sockets can't be called.")


@functools.cache
def _ssl_context():
    # Loading the CA bundle costs milliseconds; one context serves every request.
    return httpx.create_ssl_context()


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self):
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(ssl_context=_ssl_context(), network_backend=_GuardedBackend())


def fetch(
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    content: bytes | None,
    timeout: float,
    private_headers: frozenset[str] = frozenset(),
) -> Fetched:
    """One request, redirects followed, within `timeout` seconds in all. FetchError (UnsafeURL for a
    refused URL or address) when no answer came; any HTTP status is an answer. `private_headers`
    (credentials) are sent to the URL's own origin only, never after a redirect to another one."""
    deadline = time.monotonic() + timeout
    request_url = url_check(url)
    redirects: list[str] = []

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FetchError(f"No complete answer within {timeout:g} seconds.")
        return left

    with httpx.Client(transport=_GuardedTransport(), follow_redirects=False, trust_env=False) as client:
        request = client.build_request(method, request_url, headers=headers, content=content, timeout=remaining())
        while True:
            try:
                response = client.send(request, stream=True)
            except httpx.TimeoutException:
                raise FetchError(f"No complete answer within {timeout:g} seconds.") from None
            except httpx.UnsupportedProtocol as exc:
                raise UnsafeURL(str(exc)) from None
            except httpx.HTTPError as exc:
                raise FetchError(f"The request failed: {exc or type(exc).__name__}.") from None
            try:
                if response.next_request is None:
                    content_read, truncated = _read(response, remaining)
                    return Fetched(
                        status=response.status_code,
                        headers=response.headers,
                        content=content_read,
                        truncated=truncated,
                        url=str(response.url),
                        redirects=redirects,
                    )
                request = response.next_request
                if (request.url.scheme, request.url.netloc) != (response.url.scheme, response.url.netloc):
                    for name in private_headers:
                        request.headers.pop(name, None)
            finally:
                response.close()
            if len(redirects) >= MAX_REDIRECTS:
                raise UnsafeURL(f"More than {MAX_REDIRECTS} redirects.")
            url_check(request.url)
            redirects.append(str(request.url))
            request.extensions["timeout"] = httpx.Timeout(remaining()).as_dict()


def _read(response: httpx.Response, remaining) -> tuple[bytes, bool]:
    chunks, size = [], 0
    try:
        for chunk in response.iter_bytes():
            remaining()  # a server dripping bytes one at a time doesn't get past the deadline
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return b"".join(chunks)[:MAX_BODY_BYTES], True
    except httpx.TimeoutException:
        raise FetchError("The answer stopped arriving before it was complete.") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"Reading the answer failed: {exc or type(exc).__name__}.") from None
    return b"".join(chunks), False
