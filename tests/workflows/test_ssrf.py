"""The http_request step reaches the public internet only: every URL and every connection, redirects
included, is checked on the address it really goes to. No outside network is used: names resolve
through a patched resolver, and the public test address reaches a local server (see http_kit)."""

import ipaddress
import threading
import time

import httpcore
import pytest
from django.utils import timezone

from tests.factories import ExecutionFactory, WorkflowFactory, WorkflowVersionFactory
from tests.workflows import http_kit
from tests.workflows.http_kit import PUBLIC, Reply
from workflows import net
from workflows.nodes import get_node_type
from workflows.nodes.base import StepContext, StepError, TransientStepError

pytestmark = pytest.mark.django_db
server, public_net = http_kit.server, http_kit.public_net  # fixtures

HTTP = get_node_type("http_request")

CORPUS = [
    ("http://127.0.0.1/", "loopback"),
    ("http://localhost/", "loopback"),
    ("http://LOCALHOST./", "loopback"),
    ("http://[fe80::1%25eth0]/", "link-local"),
    ("http://[::ffff:7f00:1]/", "loopback"),
    ("http://0x7f000001/", "non-standard form"),
    ("http://127.000.000.001/", "Invalid IPv4 address"),
    ("http://0/", "non-standard form"),
    ("http://api.example.com\\@127.0.0.1/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::ffff:169.254.169.254]/", "link-local address inside an IPv6 address"),
    ("http://10.0.0.1/", "private"),
    ("http://100.64.0.1/", "CGNAT"),
    ("http://2130706433/", "non-standard form"),
    ("http://0177.0.0.1/", "Invalid IPv4 address"),
    ("http://0x7f.0.0.1/", "non-standard form"),
    ("http://127.1/", "non-standard form"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://[fd00::1]/", "private"),
    ("http://[fe80::1]/", "link-local"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[64:ff9b::a9fe:a9fe]/", "inside an IPv6 address"),
    ("http://[2002:7f00:1::]/", "IPv6"),
    ("http://internal.example.com/", "10.0.0.5"),
    ("http://metadata.example.com/", "169.254.169.254"),
    ("http://rebind.example.com/", "127.0.0.1"),
    ("file:///etc/passwd", "file://"),
    ("gopher://api.example.com:70/_GET", "gopher://"),
    ("ftp://api.example.com/", "ftp://"),
    ("http://%31%32%37.0.0.1/", "not a valid host name"),
    ("//api.example.com/", "no scheme"),
]


def _ctx(url_context=None) -> StepContext:
    version = WorkflowVersionFactory(workflow=WorkflowFactory())
    execution = ExecutionFactory(version=version)
    return StepContext(
        workspace=execution.workspace,
        contact=None,
        trigger=url_context or {},
        steps={},
        node_id="call",
        now=timezone.now(),
        execution=execution,
    )


def _run(url: str, **config):
    return HTTP.run(_ctx(), HTTP.Config.model_validate({"url": url, "method": "GET", **config}))


@pytest.mark.parametrize(("url", "reason"), CORPUS)
def test_a_url_to_a_non_public_address_or_another_scheme_is_refused_with_a_clear_step_error(public_net, url, reason):
    with pytest.raises(StepError) as caught:
        _run(url)
    assert not isinstance(caught.value, TransientStepError), "a refusal must fail for good, not be retried"
    assert str(caught.value).startswith("The URL can't be called:"), caught.value
    assert reason in str(caught.value)
    assert public_net.connected == [] and public_net.server.seen == []


#: A dry run resolves no names (that happens when connecting), so it refuses what the URL itself shows.
LITERAL_CORPUS = [
    (url, reason) for url, reason in CORPUS if not ("localhost" in url.lower() or url.endswith("example.com/"))
]


@pytest.mark.parametrize(("url", "reason"), LITERAL_CORPUS)
def test_a_dry_run_refuses_the_urls_that_show_their_address_without_connecting(public_net, url, reason):
    with pytest.raises(StepError, match="can't be called") as caught:
        HTTP.simulate(_ctx(), HTTP.Config.model_validate({"url": url, "method": "GET"}))
    assert reason in str(caught.value)
    assert public_net.connected == [] and public_net.resolved == []


def test_a_templated_url_is_checked_after_rendering(public_net):
    ctx = _ctx({"target": "169.254.169.254"})
    with pytest.raises(StepError, match="link-local"):
        HTTP.run(ctx, HTTP.Config.model_validate({"url": "http://{{ trigger.target }}/", "method": "GET"}))
    assert public_net.connected == []


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8000/admin/",
        "http://[::ffff:127.0.0.1]/",
        "http://internal.example.com/",
        "http://rebind.example.com/",
        "http://2130706433/",
        "file:///etc/passwd",
        "gopher://api.example.com/",
    ],
)
def test_a_redirect_to_an_internal_address_or_another_scheme_is_refused(public_net, location):
    public_net.server.routes["/start"] = Reply(302, headers={"Location": location})
    with pytest.raises(StepError, match="can't be called") as caught:
        _run("http://api.example.com/start")
    assert not isinstance(caught.value, TransientStepError)
    # The first hop reached the public server; nothing else was ever connected to.
    assert [seen.path for seen in public_net.server.seen] == ["/start"]
    assert {address for address, _port in public_net.connected} == {PUBLIC}


def test_every_hop_of_a_redirect_chain_is_resolved_and_checked_again(public_net):
    public_net.server.routes["/a"] = Reply(302, headers={"Location": "http://other.example.com/b"})
    public_net.server.routes["/b"] = Reply(302, headers={"Location": "http://internal.example.com/c"})
    with pytest.raises(StepError, match=r"10\.0\.0\.5"):
        _run("http://api.example.com/a")
    assert public_net.resolved == ["api.example.com", "other.example.com", "internal.example.com"]
    assert [seen.path for seen in public_net.server.seen] == ["/a", "/b"]


def test_more_than_five_redirects_are_refused(public_net):
    for hop in range(7):
        public_net.server.routes[f"/{hop}"] = Reply(302, headers={"Location": f"/{hop + 1}"})
    with pytest.raises(StepError, match="More than 5 redirects"):
        _run("http://api.example.com/0")
    assert len(public_net.server.seen) == 6


def test_the_connection_goes_to_the_vetted_address_with_the_host_name_kept(public_net):
    public_net.server.routes["/ok"] = Reply(200, {"ok": True})
    result = _run("http://api.example.com/ok")
    assert result.output["status"] == 200
    assert public_net.connected == [(PUBLIC, 80)]
    assert public_net.server.seen[0].headers["Host"] == "api.example.com"


def test_a_name_resolving_to_a_public_and_a_private_address_is_refused_before_connecting(public_net):
    with pytest.raises(net.UnsafeURL, match=r"127\.0\.0\.1"):
        net.vetted_addresses("rebind.example.com", 80)
    assert public_net.connected == []


def test_localhost_is_refused_through_the_real_resolver():
    # /etc/hosts answers this one: no network involved.
    with pytest.raises(net.UnsafeURL, match="loopback"):
        net.vetted_addresses("localhost", 80)


def test_a_name_that_does_not_resolve_is_a_transient_error(public_net):
    with pytest.raises(TransientStepError, match="could not be resolved"):
        _run("http://nowhere.example.com/")


def test_proxies_from_the_environment_are_not_used(public_net, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://10.0.0.1:3128")
    public_net.server.routes["/ok"] = Reply(200, "fine")
    assert _run("http://api.example.com/ok").output["body"] == "fine"
    assert public_net.connected == [(PUBLIC, 80)]


def test_tls_is_negotiated_for_the_host_name_not_the_pinned_address(monkeypatch):
    """SNI and the certificate check use the URL's name while the socket goes to the vetted address."""
    handshakes = []

    class Stream:
        def start_tls(self, ssl_context, server_hostname=None, timeout=None):
            handshakes.append((server_hostname, ssl_context.check_hostname))
            raise httpcore.ConnectError("handshake refused by the test")

        def close(self):
            pass

    monkeypatch.setattr(net, "resolve", lambda host, port: [PUBLIC])
    connected = []
    monkeypatch.setattr(
        net, "tcp_connect", lambda address, port, *, timeout, socket_options=None: connected.append(address) or Stream()
    )
    with pytest.raises(net.FetchError):
        net.fetch(method="GET", url="https://api.example.com/", headers={}, content=None, timeout=2)
    assert connected == [PUBLIC]
    assert handshakes == [("api.example.com", True)]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.255.254",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.251",
        "192.0.2.1",
        "198.18.0.1",
        "240.0.0.1",
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
        "::127.0.0.1",
        "64:ff9b::127.0.0.1",
        "2002:a00:1::",
        "2001:db8::1",
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",
    ],
)
def test_non_global_addresses_have_a_problem(address):
    assert net.address_problem(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_global_addresses_are_fine(address):
    assert net.address_problem(ipaddress.ip_address(address)) is None


def test_an_international_name_is_resolved_by_its_punycode(public_net):
    public_net.server.routes["/ok"] = Reply(200, "fine")
    assert _run("http://bücher.example/ok").output["body"] == "fine"
    assert public_net.resolved == ["xn--bcher-kva.example"]
    assert public_net.server.seen[0].headers["Host"] == "xn--bcher-kva.example"


def test_credentials_before_an_at_sign_do_not_change_the_host(public_net):
    public_net.server.routes["/ok"] = Reply(200, "fine")
    _run("http://127.0.0.1:80@api.example.com/ok")
    assert public_net.resolved == ["api.example.com"] and public_net.connected == [(PUBLIC, 80)]


def test_a_resolver_that_hangs_is_given_up_on_at_the_timeout(monkeypatch):
    release = threading.Event()

    def hang(host, port):
        release.wait(5)
        return [PUBLIC]

    monkeypatch.setattr(net, "resolve", hang)
    started = time.monotonic()
    try:
        with pytest.raises(net.FetchError, match="could not be resolved within") as caught:
            net.fetch(method="GET", url="http://slow.example.com/", headers={}, content=None, timeout=0.5)
    finally:
        release.set()
    assert caught.value.transient and time.monotonic() - started < 2
