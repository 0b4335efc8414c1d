"""Vetting a webhook's destination with the module's resolver replaced by a table: a name is
resolved once per vetting and every address it resolves to is checked; a name that moves to a
private address after registration is refused; the failure shown to viewers is a class only."""

import asyncio
import ipaddress
import smtplib
import socket

import httpx
import pytest

from services.notifications import egress
from services.notifications.addresses import RefusedDestination, networks
from services.notifications.worker import RecipientGone, SendFailed, describe


class Resolver:
    def __init__(self, **table: list[str]) -> None:
        self.table, self.asked = table, []

    async def __call__(self, host: str, port: int):
        self.asked.append((host, port))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(a) for a in self.table[host]]


@pytest.fixture
def dns(monkeypatch):
    resolver = Resolver()
    monkeypatch.setattr(egress, "resolve", resolver)
    return resolver


async def test_a_name_is_resolved_once_and_every_address_checked(dns):
    dns.table["hooks.example.org"] = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    found = await egress.vet(httpx.URL("https://hooks.example.org/in"), ())
    assert [str(a) for a in found] == ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    assert dns.asked == [("hooks.example.org", 443)]
    dns.table["hooks.example.org"].append("169.254.169.254")
    with pytest.raises(RefusedDestination) as refused:
        await egress.vet(httpx.URL("https://hooks.example.org/in"), networks("0.0.0.0/0"))
    assert refused.value.kind == "cloud metadata address"


async def test_a_host_that_resolves_to_a_private_address_after_registration_is_refused(dns):
    dns.table["rebind.example.org"] = ["93.184.216.34"]
    await egress.vet_at_registration("http://rebind.example.org:8080/in", (), timeout=5)
    dns.table["rebind.example.org"] = ["192.168.0.10"]
    with pytest.raises(RefusedDestination) as refused:
        await egress.vet(httpx.URL("http://rebind.example.org:8080/in"), ())
    assert describe(refused.value) == (
        "refused: private address", "refused: rebind.example.org resolves to 192.168.0.10, which is a private address")
    assert dns.asked == [("rebind.example.org", 8080)] * 2
    with pytest.raises(RefusedDestination):
        await egress.vet_at_registration("http://rebind.example.org:8080/in", (), timeout=5)


async def test_literals_and_localhost_are_judged_without_a_resolver(dns):
    for url in ("http://127.1/", "http://[::ffff:127.0.0.1]/", "http://0x7f.1/", "http://localhost/", "http://a.localhost/"):
        with pytest.raises(RefusedDestination):
            await egress.vet(httpx.URL(url), ())
    assert [str(a) for a in await egress.vet(httpx.URL("http://127.1:9/"), networks("127.0.0.0/8"))] == ["127.0.0.1"]
    assert dns.asked == []


async def test_a_name_that_does_not_resolve_is_accepted_at_registration_and_retried_at_delivery(dns, monkeypatch):
    await egress.vet_at_registration("https://later.example.org/", (), timeout=5)
    with pytest.raises(egress.NotResolved):
        await egress.vet(httpx.URL("https://later.example.org/"), ())

    async def hangs(host, port):
        await asyncio.sleep(3600)

    monkeypatch.setattr(egress, "resolve", hangs)
    await egress.vet_at_registration("https://slow-dns.example.org/", (), timeout=0.05)


@pytest.mark.parametrize(("error", "reason"), [
    (SendFailed("HTTP 503", "HTTP 503: <html>secret stack trace</html>"), "HTTP 503"),
    (RecipientGone("the webhook no longer exists"), "the webhook no longer exists"),
    (TimeoutError(), "timeout"),
    (httpx.ReadTimeout("read timed out"), "timeout"),
    (httpx.ConnectError("All connection attempts failed"), "connection failed"),
    (httpx.RemoteProtocolError("illegal header"), "HTTP protocol error"),
    (httpx.ReadError("reset"), "connection lost"),
    (egress.NotResolved("x.example.org does not resolve"), "host name not resolved"),
    (ConnectionRefusedError(111, "Connection refused"), "connection failed"),
    (smtplib.SMTPRecipientsRefused({"alice@dept.example.org": (550, b"no such user")}), "SMTP recipient refused"),
    (smtplib.SMTPDataError(554, b"rejected: alice@dept.example.org"), "SMTP 554"),
    (ValueError("something else entirely, with alice@dept.example.org"), "ValueError"),
])
def test_what_viewers_see_of_a_failure_is_its_class_only(error, reason):
    shown, detail = describe(error)
    assert shown == reason
    assert "alice@" not in shown and "secret" not in shown
    assert detail  # the whole story goes to the logs and to admins
