"""The webhook sender against real local receivers (plain and TLS): it resolves a name once per
attempt with its own resolver, vets every address, dials the address it vetted while sending the
URL's Host and, over TLS, its name for SNI and certificate checks; it follows no redirect and no
proxy from the environment; a deadline ends an attempt whatever the receiver does, and a failed
response is read only so far. The resolver is replaced by a table (`.test` names resolve nowhere
else), so a host "resolving" to a private address is a name of our choosing."""

import asyncio
import ipaddress
import socket
import ssl
import subprocess
import uuid

import pytest

from services.notifications import egress
from services.notifications.addresses import RefusedDestination
from services.notifications.config import NotificationsSettings
from services.notifications.domain import signature_valid
from services.notifications.worker import SendFailed, WebhookSender, describe
from tests.integration.notifications.support import LOCAL_RECEIVERS, DripReceiver, FloodReceiver, WebhookReceiver

HOOK_SECRET = "whsec-0123456789abcdef"


class Resolver:
    """The sender's resolver as a table {name: [address, ...]}, recording the names it is asked."""

    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {}
        self.asked: list[str] = []

    def __setitem__(self, name: str, addresses: list[str]) -> None:
        self.table[name] = addresses

    async def __call__(self, host: str, port: int) -> list:
        self.asked.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: not in the test's table")
        return [ipaddress.ip_address(a) for a in self.table[host]]


@pytest.fixture
def dns(monkeypatch) -> Resolver:
    resolver = Resolver()
    monkeypatch.setattr(egress, "resolve", resolver)
    return resolver


def sender(allowed: str = LOCAL_RECEIVERS, timeout: float = 5.0, **kwargs) -> WebhookSender:
    settings = NotificationsSettings(department="dwp", webhook_allowed_networks=allowed, send_timeout_seconds=timeout)
    return WebhookSender(settings, **kwargs)


def row(url: str) -> dict:
    return {"url": url, "payload": b'{"specversion":"1.0"}', "secret": HOOK_SECRET, "delivery_id": uuid.uuid4()}


async def test_a_name_is_resolved_once_per_attempt_and_the_vetted_address_is_dialled_with_the_urls_host(dns):
    async with WebhookReceiver() as receiver:
        dns["hooks.test"] = ["127.0.0.1"]
        webhook = sender()
        try:
            await webhook.send(row(f"http://hooks.test:{receiver.port}/in?x=1"))
            await webhook.send(row(f"http://hooks.test:{receiver.port}/in?x=2"))
        finally:
            await webhook.close()
        port = receiver.port
    assert dns.asked == ["hooks.test", "hooks.test"]
    assert [(r.path, r.headers["host"]) for r in receiver.requests] == [
        ("/in?x=1", f"hooks.test:{port}"), ("/in?x=2", f"hooks.test:{port}")]
    post = receiver.requests[0]
    assert signature_valid(HOOK_SECRET, int(post.headers["x-innovation-timestamp"]), post.body,
                           post.headers["x-innovation-signature"])


async def test_a_name_that_resolves_to_a_private_address_after_registration_is_refused_at_delivery(dns):
    async with WebhookReceiver() as receiver:
        url = f"http://rebinding.test:{receiver.port}/in"
        dns["rebinding.test"] = ["93.184.216.34"]
        await egress.vet_at_registration(url, (), timeout=5)  # public when registered
        dns["rebinding.test"] = ["10.0.0.7"]  # private when delivered
        webhook = sender(allowed="")
        try:
            with pytest.raises(RefusedDestination) as refused:
                await webhook.send(row(url))
            assert describe(refused.value) == (
                "refused: private address", "refused: rebinding.test resolves to 10.0.0.7, which is a private address")
            # one refused answer among good ones spoils the name: the allowed loopback is not dialled either
            dns["rebinding.test"] = ["127.0.0.1", "10.0.0.7"]
            webhook = sender()
            with pytest.raises(RefusedDestination):
                await webhook.send(row(url))
        finally:
            await webhook.close()
    assert receiver.requests == []


async def test_refused_literal_addresses_are_never_dialled_and_names_not_resolved_fail_for_a_retry(dns):
    webhook = sender(allowed="")
    try:
        for url, reason in [("http://127.1:9/", "refused: loopback address"), ("http://[::1]:9/", "refused: loopback address"),
                            ("http://2130706433:9/", "refused: loopback address"),
                            ("http://169.254.169.254/latest/meta-data/", "refused: cloud metadata address"),
                            ("http://localhost:9/", "refused: loopback address")]:
            with pytest.raises(RefusedDestination) as refused:
                await webhook.send(row(url))
            assert describe(refused.value)[0] == reason, url
        assert dns.asked == []  # literals and `localhost` are judged without a resolver
        with pytest.raises(egress.NotResolved) as missing:
            await webhook.send(row("http://nowhere.test/"))
        assert describe(missing.value)[0] == "host name not resolved"
    finally:
        await webhook.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for hooks.test only (no IP address in it)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=hooks.test",
                    "-addext", "subjectAltName=DNS:hooks.test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


async def test_over_tls_the_urls_name_is_sent_for_sni_and_the_certificate_is_checked_against_it(dns, certificate):
    cert, key = certificate
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    async with WebhookReceiver(tls=server) as receiver:
        dns["hooks.test"] = ["127.0.0.1"]
        dns["impostor.test"] = ["127.0.0.1"]
        webhook = sender(verify=ssl.create_default_context(cafile=str(cert)))
        try:
            await webhook.send(row(f"https://hooks.test:{receiver.port}/in"))
            with pytest.raises(Exception) as wrong_name:
                await webhook.send(row(f"https://impostor.test:{receiver.port}/in"))
            assert describe(wrong_name.value)[0] == "TLS error"
            with pytest.raises(Exception) as by_address:  # the certificate names no address
                await webhook.send(row(f"https://127.0.0.1:{receiver.port}/in"))
            assert describe(by_address.value)[0] == "TLS error"
        finally:
            await webhook.close()
        assert [r.headers["host"] for r in receiver.requests] == [f"hooks.test:{receiver.port}"]
    assert receiver.server_names[:2] == ["hooks.test", "impostor.test"]


async def test_redirects_are_not_followed(dns):
    async with WebhookReceiver(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}) as receiver:
        webhook = sender()
        try:
            with pytest.raises(SendFailed) as failed:
                await webhook.send(row(receiver.url))
        finally:
            await webhook.close()
    assert describe(failed.value)[0] == "HTTP 302" and len(receiver.requests) == 1


async def test_proxies_named_in_the_environment_are_not_used(dns, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nobody listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with WebhookReceiver() as receiver:
        webhook = sender()
        try:
            await webhook.send(row(receiver.url))
        finally:
            await webhook.close()
    assert len(receiver.requests) == 1


async def test_a_receiver_dripping_its_response_is_cut_off_at_the_deadline(dns):
    async with DripReceiver(interval=0.2) as receiver:
        webhook = sender(timeout=1.0)
        try:
            with pytest.raises(TimeoutError) as late:
                await webhook.send(row(receiver.url))
        finally:
            await webhook.close()
        assert describe(late.value)[0] == "timeout"
        await _until(lambda: receiver.cut_off == 1)
    assert len(receiver.requests) == 1


async def test_a_huge_failed_response_is_read_only_so_far(dns):
    async with FloodReceiver(size=1 << 30) as receiver:
        webhook = sender()
        try:
            with pytest.raises(SendFailed) as failed:
                await webhook.send(row(receiver.url))
        finally:
            await webhook.close()
        await _until(lambda: receiver.cut_off == 1)
    reason, detail = describe(failed.value)
    assert reason == "HTTP 500" and detail == "HTTP 500: " + "x" * 500
    assert receiver.written < 32 << 20  # socket buffers at most, far short of the gigabyte announced


async def _until(check, attempts: int = 200) -> None:
    for _ in range(attempts):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the receiver never saw the sender hang up")
