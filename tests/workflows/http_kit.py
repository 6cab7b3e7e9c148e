"""A local HTTP server standing in for the internet, for the http_request and SSRF tests.

The SSRF guard refuses loopback, so the tests pretend: `public_net` patches the resolver so that
made-up names resolve to chosen addresses, and the connection so that the public test address
PUBLIC reaches the local server. Nothing leaves the machine, and the guard runs exactly as in
production on every connection."""

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workflows import net

#: A global address (the guard lets it through) that the tests' connections send to the local server.
PUBLIC = "93.184.216.34"
NAMES = {
    "api.example.com": [PUBLIC],
    "other.example.com": [PUBLIC],
    "internal.example.com": ["10.0.0.5"],
    "metadata.example.com": ["169.254.169.254"],
    "rebind.example.com": [PUBLIC, "127.0.0.1"],
    "localhost": ["127.0.0.1", "::1"],
    "localhost.": ["127.0.0.1"],
    "xn--bcher-kva.example": [PUBLIC],
}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    #: Send the body in this many pieces, `delay` seconds apart (a server that drips its answer).
    pieces: int = 1


class LocalServer:
    def __init__(self):
        self.routes: dict[str, Reply] = {}
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
                reply = server.routes.get(self.path.split("?")[0], Reply(404, "no such route"))
                if reply.delay and reply.pieces == 1:
                    time.sleep(reply.delay)
                payload = reply.body
                headers = dict(reply.headers)
                if isinstance(payload, dict | list):
                    payload = json.dumps(payload).encode()
                    headers.setdefault("Content-Type", "application/json")
                elif isinstance(payload, str):
                    payload = payload.encode()
                    headers.setdefault("Content-Type", "text/plain; charset=utf-8")
                try:
                    self.send_response(reply.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    size = max(1, -(-len(payload) // reply.pieces))  # an empty body is one empty write
                    for start in range(0, len(payload), size):
                        if reply.pieces > 1:
                            time.sleep(reply.delay)
                        self.wfile.write(payload[start : start + size])
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    local = LocalServer()
    yield local
    local.close()


class PublicNet:
    """Records what the guard let through to the connection: (address, port) per connection."""

    def __init__(self, server: LocalServer):
        self.server = server
        self.connected: list[tuple[str, int]] = []
        self.resolved: list[str] = []


@pytest.fixture
def public_net(monkeypatch, server):
    fake = PublicNet(server)
    real_connect = net.tcp_connect

    def resolve(host, port):
        fake.resolved.append(host)
        if host not in NAMES:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(NAMES[host])

    def connect(address, port, *, timeout, socket_options=None):
        fake.connected.append((address, port))
        if address != PUBLIC:  # the guard let through an address the tests never expected
            raise AssertionError(f"connection to {address}:{port} was allowed")
        return real_connect("127.0.0.1", server.port, timeout=timeout, socket_options=socket_options)

    monkeypatch.setattr(net, "resolve", resolve)
    monkeypatch.setattr(net, "tcp_connect", connect)
    return fake
