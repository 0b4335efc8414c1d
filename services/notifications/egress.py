"""Resolving a webhook's host and vetting every address it resolves to (the I/O half of
addresses.py). The worker then dials one of the returned addresses itself, so a name that
resolves elsewhere a moment later (DNS rebinding) changes nothing."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

import httpx

from services.notifications import addresses
from services.notifications.addresses import IPAddress, Network
from shared.refusals import Invalid


class NotResolved(Exception):
    """The host name did not resolve (now): worth another attempt later."""


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order of preference, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def host_of(url: httpx.URL) -> str:
    """The host as it is resolved and sent: IDNA-encoded names, bare IPv6 literals."""
    return url.raw_host.decode("ascii")


async def vet(url: httpx.URL, allowed: Iterable[Network]) -> list[IPAddress]:
    """The addresses to dial for `url`, each one checked. Raises RefusedDestination when the
    name or any address it resolves to is refused (one bad answer spoils the name: a resolver
    handing out a public and a private address is not to be trusted with either), NotResolved
    when the name does not resolve."""
    host = host_of(url)
    literal = addresses.literal_address(host)
    if literal is not None:
        found = [literal]
    else:
        addresses.check(host, (), allowed)  # `localhost` is refused without asking a resolver
        try:
            found = await resolve(host, url.port or (443 if url.scheme == "https" else 80))
        except (socket.gaierror, UnicodeError) as error:
            raise NotResolved(f"{host} does not resolve: {error}") from error
        if not found:
            raise NotResolved(f"{host} resolves to no address")
    addresses.check(host, found, allowed)
    return found


async def vet_at_registration(url: str, allowed: Iterable[Network], timeout: float) -> None:
    """Refuses a webhook URL whose host is, or resolves to, a refused address. A name that does not
    resolve now, or not within `timeout`, is accepted: every delivery vets it again."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:  # e.g. a name IDNA cannot encode
        raise Invalid("validation failed", field="url", rule="url", message=f"not a URL that can be sent to: {error}") from None
    try:
        async with asyncio.timeout(timeout):
            await vet(parsed, allowed)
    except (NotResolved, TimeoutError):
        pass
