"""The SSRF guard: decisions for every spelling, and real loopback listeners proving no connection."""
from __future__ import annotations

import http.server
import json
import socket
import threading
import time

import pytest
from hypothesis import given, settings, strategies as st

from functions.shared import address_guard
from functions.shared.address_guard import (
    AddressRefused, FetchTimeout, FetchTooLarge, check_url, fetch, parse_numeric_host,
)


def _resolver(table):
    """A getaddrinfo stand-in: name -> list of addresses; no real DNS, never a connection."""
    calls = []

    def resolve(host, port, family=0, type_=0, *args):
        calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        out = []
        for addr in table[host]:
            fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
            out.append((fam, socket.SOCK_STREAM, 6, "", (addr, port)))
        return out

    resolve.calls = calls
    return resolve


REFUSED = [
    # loopback in every spelling
    ("http://127.0.0.1/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://0x7F.0.0.1/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://0177.1/", "loopback"),
    ("http://127.0.0.1./", "loopback"),
    ("http://127.000.000.001/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[0:0:0:0:0:0:0:1]:8080/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped embedding 127.0.0.1, loopback"),
    ("http://[::ffff:7f00:1]/", "IPv4-mapped embedding 127.0.0.1, loopback"),
    ("http://[::127.0.0.1]/", "IPv4-compatible embedding 127.0.0.1, loopback"),
    ("http://[64:ff9b::7f00:1]/", "NAT64 embedding 127.0.0.1, loopback"),
    ("http://[2002:7f00:1::]/", "6to4 embedding 127.0.0.1, loopback"),
    ("http://[2002:a9fe:a9fe::1]/", "6to4 embedding 169.254.169.254, link-local"),
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "Teredo client embedding 127.0.0.1, loopback"),
    ("HTTP://LOCALHOST.:80/", "loopback"),
    ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "loopback"),  # fullwidth digits, folded by IDNA
    ("http://\u24c1ocalhost/", "loopback"),  # circled l, folded to localhost
    # unspecified
    ("http://0/", "unspecified"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    # private / CGNAT / this-network
    ("http://10.0.0.1/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://0xc0a80101/", "private"),
    ("http://3232235777/", "private"),
    ("http://100.64.0.1/", "carrier-grade NAT"),
    ("http://0.1.2.3/", "'this network'"),
    # link-local and metadata
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://2852039166/", "link-local"),
    ("http://0xa9fea9fe/", "link-local"),
    ("http://0251.0376.0251.0376/", "link-local"),
    ("http://169.254.43518/", "link-local"),
    ("http://[::ffff:169.254.169.254]/", "IPv4-mapped embedding 169.254.169.254, link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fd00:ec2::254]/", "unique-local"),
    ("http://[fc00::1]/", "unique-local"),
    # multicast, reserved, documentation
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "private"),
    ("http://255.255.255.255/", "private"),
    ("http://192.0.2.1/", "private"),
    ("http://[fec0::1]/", "site-local"),
    ("http://[64:ff9b:1::1]/", "local-use NAT64"),
]


@pytest.mark.parametrize("url,reason", REFUSED)
def test_non_global_spelling_refused(url, reason):
    resolver = _resolver({"localhost": ["127.0.0.1", "::1"]})
    with pytest.raises(AddressRefused) as exc:
        check_url(url, resolver=resolver)
    assert reason in str(exc.value)
    assert "is refused" in str(exc.value)


@pytest.mark.parametrize("url,message", [
    ("http://good@127.0.0.1/", "credentials in the URL"),
    ("http://good:pw@example.com/", "credentials in the URL"),
    ("ftp://example.com/", "scheme 'ftp' is not allowed"),
    ("file:///etc/passwd", "scheme 'file' is not allowed"),
    ("gopher://127.0.0.1:70/", "scheme 'gopher' is not allowed"),
    ("http:///path", "has no valid host"),
    ("http://exa mple.com/", "whitespace"),
    ("http://127.0.0.1\\@example.com/", "backslashes"),
    ("http://1.2.3.999/", "out of range"),
    ("http://256.1/", "out of range"),
    ("http://1.2.3.4.5/", "more than 4 numeric parts"),
    ("http://08.0.0.1/", "not a valid octal number"),
    ("http://foo.0x10/", "ends in a number"),
    ("http://example.com:99999/", "malformed"),
    ("http://[::1/", "malformed"),
    ("http://unknown.invalid/", "does not resolve"),
])
def test_malformed_or_disguised_url_refused(url, message):
    with pytest.raises(AddressRefused) as exc:
        check_url(url, resolver=_resolver({}))
    assert message in str(exc.value)


def test_name_resolving_to_private_address_refused():
    # GIVEN a public-looking name whose DNS answer contains one internal address among public ones
    resolver = _resolver({"api.example.com": ["93.184.215.14", "10.1.2.3"]})
    # THEN the guard refuses: every resolved address is checked, not just the first
    with pytest.raises(AddressRefused) as exc:
        check_url("https://api.example.com/x", resolver=resolver)
    assert "api.example.com (10.1.2.3) is refused: private" in str(exc.value)


def test_name_resolving_to_metadata_refused():
    resolver = _resolver({"metadata.example.com": ["169.254.169.254"]})
    with pytest.raises(AddressRefused) as exc:
        check_url("http://metadata.example.com/latest", resolver=resolver)
    assert "link-local" in str(exc.value)


def test_global_addresses_accepted():
    resolver = _resolver({"api.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    assert check_url("https://API.example.com./v1?q=1", resolver=resolver) == (
        "api.example.com", 443, ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
    assert check_url("http://1.1.1.1:8080/") == ("1.1.1.1", 8080, ["1.1.1.1"])
    assert check_url("http://[2606:4700:4700::1111]/")[2] == ["2606:4700:4700::1111"]


def test_allowed_host_port_passes_and_other_port_refused():
    allow = frozenset({("127.0.0.1", 8080), ("internal.svc", 9000), ("::1", 7000)})
    resolver = _resolver({"internal.svc": ["10.0.0.7"]})
    assert check_url("http://127.0.0.1:8080/x", allow) == ("127.0.0.1", 8080, ["127.0.0.1"])
    # the same address in another spelling is the same destination
    assert check_url("http://2130706433:8080/", allow)[0] == "127.0.0.1"
    assert check_url("http://internal.svc:9000/", allow, resolver=resolver)[2] == ["10.0.0.7"]
    assert check_url("http://[::1]:7000/", allow)[0] == "::1"
    with pytest.raises(AddressRefused) as exc:
        check_url("http://127.0.0.1:8081/", allow)
    assert "FETCH_ALLOW=127.0.0.1:8081" in str(exc.value)


@pytest.mark.parametrize("spelling", ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1", "127.0.1"])
def test_numeric_spellings_read_as_loopback(spelling):
    assert str(parse_numeric_host(spelling)) == "127.0.0.1"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.sampled_from(["dec", "hex", "octal-dotted", "short"]))
def test_every_ipv4_spelling_same_decision_as_dotted_quad(number, style):
    import ipaddress

    ip = ipaddress.IPv4Address(number)
    a, b, c, d = ip.packed
    spelled = {
        "dec": str(number),
        "hex": hex(number),
        "octal-dotted": ".".join("0" + oct(x)[2:] for x in (a, b, c, d)),
        "short": f"{a}.{(b << 16) | (c << 8) | d}",
    }[style]
    expected = address_guard.refusal_reason(ip)
    if expected is None:
        assert check_url(f"http://{spelled}/")[2] == [str(ip)]
    else:
        with pytest.raises(AddressRefused):
            check_url(f"http://{spelled}/")


# ---- real loopback listeners --------------------------------------------------------------------------
class _Server:
    """A loopback HTTP server on a free port that counts accepted connections."""

    def __init__(self, routes):
        counter = self
        self.connections = 0
        self.requests: list[dict] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                counter.requests.append({"method": self.command, "path": self.path,
                                         "host": self.headers.get("Host"), "body": body,
                                         "auth": self.headers.get("Authorization")})
                routes(self)

            do_GET = do_POST = _serve

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # the guard hangs up on oversized or slow responses on purpose

            def verify_request(self, request, client_address):
                counter.connections += 1
                return True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    started = []

    def start(routes):
        s = _Server(routes)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()


def _json(handler, status, doc, headers=()):
    raw = json.dumps(doc).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    for k, v in headers:
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(raw)


def test_refused_loopback_url_makes_no_connection(servers):
    srv = servers(lambda h: _json(h, 200, {"ok": True}))
    for url in (f"http://127.0.0.1:{srv.port}/", f"http://2130706433:{srv.port}/",
                f"http://[::ffff:127.0.0.1]:{srv.port}/", f"http://localhost:{srv.port}/",
                f"http://x@127.0.0.1:{srv.port}/"):
        with pytest.raises(AddressRefused):
            fetch("GET", url)
    time.sleep(0.05)
    assert srv.connections == 0


def test_allowed_loopback_host_port_fetches(servers):
    srv = servers(lambda h: _json(h, 200, {"plan": "gold"}))
    result = fetch("POST", f"http://127.0.0.1:{srv.port}/profile?id=1", json_body={"q": 1},
                   headers={"X-Trace": "t1"}, allow={("127.0.0.1", srv.port)})
    assert result.status == 200 and result.json() == {"plan": "gold"}
    assert srv.requests[0]["method"] == "POST" and srv.requests[0]["path"] == "/profile?id=1"
    assert json.loads(srv.requests[0]["body"]) == {"q": 1}


def test_connection_goes_to_pinned_ip_without_second_lookup(servers):
    # GIVEN an allowed name whose first DNS answer is the listener and any later answer would differ
    srv = servers(lambda h: _json(h, 200, {"ok": 1}))
    answers = iter([[("127.0.0.1")]])

    def rebinding_resolver(host, port, *args):
        addrs = next(answers)  # a second lookup raises StopIteration: the test would fail
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addrs]

    result = fetch("GET", f"http://svc.test:{srv.port}/", allow={("svc.test", srv.port)},
                   resolver=rebinding_resolver)
    # THEN one lookup, the connection reached the pinned address, and Host names the service
    assert result.status == 200
    assert srv.requests[0]["host"] == f"svc.test:{srv.port}"


def test_redirect_to_disallowed_loopback_port_refused(servers):
    target = servers(lambda h: _json(h, 200, {"secret": True}))
    front = servers(lambda h: _json(h, 302, {}, [("Location", f"http://127.0.0.1:{target.port}/admin")]))
    with pytest.raises(AddressRefused) as exc:
        fetch("GET", f"http://127.0.0.1:{front.port}/", allow={("127.0.0.1", front.port)})
    assert f"127.0.0.1 is refused: loopback; allow it with FETCH_ALLOW=127.0.0.1:{target.port}" in str(exc.value)
    assert front.connections == 1
    assert target.connections == 0


def test_redirect_chain_followed_and_too_many_refused(servers):
    def routes(h):
        n = int(h.path.strip("/") or 0)
        if n < 5:
            _json(h, 307, {}, [("Location", f"/{n + 1}")])
        else:
            _json(h, 200, {"hop": n})

    srv = servers(routes)
    allow = {("127.0.0.1", srv.port)}
    ok = fetch("GET", f"http://127.0.0.1:{srv.port}/2", allow=allow)
    assert ok.json() == {"hop": 5} and len(ok.hops) == 4
    with pytest.raises(AddressRefused) as exc:
        fetch("GET", f"http://127.0.0.1:{srv.port}/0", allow=allow)
    assert "more than 3 redirects" in str(exc.value)


def test_cross_origin_redirect_drops_credentials(servers):
    second = servers(lambda h: _json(h, 200, {"ok": 1}))
    first = servers(lambda h: _json(h, 303, {}, [("Location", f"http://127.0.0.1:{second.port}/")]))
    allow = {("127.0.0.1", first.port), ("127.0.0.1", second.port)}
    fetch("POST", f"http://127.0.0.1:{first.port}/", json_body={"a": 1},
          headers={"Authorization": "Bearer x"}, allow=allow)
    assert first.requests[0]["auth"] == "Bearer x"
    assert second.requests[0]["auth"] is None and second.requests[0]["method"] == "GET"


def test_body_over_cap_refused_while_streaming(servers):
    def routes(h):
        h.send_response(200)
        h.end_headers()  # no Content-Length: the cap must hold while reading
        for _ in range(64):
            h.wfile.write(b"x" * 1024)

    srv = servers(routes)
    with pytest.raises(FetchTooLarge) as exc:
        fetch("GET", f"http://127.0.0.1:{srv.port}/", max_bytes=10_000, allow={("127.0.0.1", srv.port)})
    assert "over the 10000-byte cap" in str(exc.value)


def test_declared_length_over_cap_refused(servers):
    srv = servers(lambda h: _json(h, 200, {"x": "y" * 5000}))
    with pytest.raises(FetchTooLarge):
        fetch("GET", f"http://127.0.0.1:{srv.port}/", max_bytes=100, allow={("127.0.0.1", srv.port)})


def test_slow_server_times_out(servers):
    def routes(h):
        time.sleep(1.0)
        _json(h, 200, {})

    srv = servers(routes)
    t0 = time.monotonic()
    with pytest.raises(FetchTimeout) as exc:
        fetch("GET", f"http://127.0.0.1:{srv.port}/", timeout=0.3, allow={("127.0.0.1", srv.port)})
    assert time.monotonic() - t0 < 0.9
    assert "timed out" in str(exc.value)


_URL_ALPHABET = "abcxyz0123456789.:/@[]%?#-_~ \\\t\u00a0\uff10\uff11\uff0e\u24c1ﬀ"


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "", "http:/", "http:\\\\"]),
       st.text(alphabet=_URL_ALPHABET, max_size=40))
def test_random_url_refused_cleanly_or_all_addresses_global(scheme, rest):
    # Every name "resolves" to a mix: one global and one private address -> a name can never pass;
    # so whatever passes must be a numeric host that is itself global.
    def resolver(host, port, *a):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port))]

    import ipaddress

    try:
        host, port, ips = check_url(scheme + rest, resolver=resolver)
    except AddressRefused:
        return
    assert 1 <= port <= 65535
    assert ips == [host]
    assert address_guard.refusal_reason(ipaddress.ip_address(host)) is None


def _self_signed(tmp_path, name):
    """A throwaway certificate for ``name`` (cryptography ships with moto)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_pinned_ip_verifies_certificate_for_the_name(servers, tmp_path):
    import ssl

    cert, key = _self_signed(tmp_path, "svc.test")
    srv = servers(lambda h: _json(h, 200, {"tls": True}))
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    srv.httpd.socket = server_ctx.wrap_socket(srv.httpd.socket, server_side=True)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    resolver = _resolver({"svc.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    allow = {("svc.test", srv.port), ("other.test", srv.port)}
    ok = fetch("GET", f"https://svc.test:{srv.port}/", allow=allow, resolver=resolver, ssl_context=client_ctx)
    assert ok.json() == {"tls": True} and srv.requests[0]["host"] == f"svc.test:{srv.port}"
    # the same pinned address under another name fails verification: SNI/hostname use the URL's name
    with pytest.raises(address_guard.FetchError) as exc:
        fetch("GET", f"https://other.test:{srv.port}/", allow=allow, resolver=resolver, ssl_context=client_ctx)
    assert "other.test" in str(exc.value) and "CERTIFICATE_VERIFY_FAILED" in str(exc.value)


def test_header_injection_refused_before_sending(servers):
    srv = servers(lambda h: _json(h, 200, {}))
    with pytest.raises(address_guard.FetchError) as exc:
        fetch("GET", f"http://127.0.0.1:{srv.port}/", headers={"X-A": "1\r\nX-Injected: 2"},
              allow={("127.0.0.1", srv.port)})
    assert "invalid request" in str(exc.value)
    assert srv.requests == []


def test_guard_import_path_serves_the_policy_and_the_pinned_client():
    from functions.shared import address_policy, guarded_http

    assert address_guard.check_url is address_policy.check_url and address_guard.fetch is guarded_http.fetch
    assert address_guard.AddressRefused is address_policy.AddressRefused
    assert issubclass(address_guard.FetchTooLarge, guarded_http.FetchError)
    assert not hasattr(address_policy, "http"), "the policy half opens no connection"
