"""Where a webhook may send, without I/O: which IP addresses are refused (loopback, private,
link-local, multicast, unspecified, carrier-grade NAT, reserved, cloud metadata...), how a URL's
host is read as an address in every spelling a C resolver accepts, and the operator's allow-list.

The worker resolves a name once per attempt, checks every address with `refusal`, and connects
to an address it checked (egress.py): what is checked is what is dialled.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from shared.refusals import Invalid

IPAddress = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

RULE = "url_public_address"

# Instance-metadata endpoints of cloud providers: refused even inside an allow-listed network,
# since they hand out credentials. (AWS, GCP, Azure, OpenStack: 169.254.169.254; AWS ECS task
# metadata; AWS IPv6 IMDS; Alibaba Cloud; Azure's host endpoint, a public address; Oracle Cloud.)
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "168.63.129.16", "192.0.0.192",
))
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"})

_PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10"))
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class RefusedDestination(Invalid):
    """A webhook destination the policy refuses: an invalid `url` whose `kind` of address is the
    short class shown to anyone ("private address"), and whose `message` names the host and
    address (for admins and logs)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__("validation failed", field="url", rule=RULE, message=message)
        self.kind, self.message = kind, message


# -- reading a host as an address -----------------------------------------------------------

_HEX, _OCTAL, _DECIMAL = re.compile(r"^0x[0-9a-f]*$", re.IGNORECASE), re.compile(r"^0[0-7]*$"), re.compile(r"^[1-9][0-9]*$")


def _number(part: str) -> int | None:
    if _HEX.match(part):
        return int(part[2:] or "0", 16)
    if _OCTAL.match(part):
        return int(part, 8)
    return int(part) if _DECIMAL.match(part) else None


def _inet_aton(host: str) -> IPv4Address | None:
    """IPv4 in the legacy forms inet_aton (and so getaddrinfo) accepts: 1 to 4 parts, each
    decimal, octal (leading 0) or hex (0x), the last filling the remaining bytes: `127.1`,
    `0x7f.1`, `2130706433`, `0177.0.0.01`."""
    parts = host.split(".")
    values = [_number(p) for p in parts]
    if not 1 <= len(parts) <= 4 or None in values:
        return None
    last_bits = 8 * (5 - len(parts))
    if any(v > 255 for v in values[:-1]) or values[-1] >= 1 << last_bits:
        return None
    number = 0
    for v in values[:-1]:
        number = number << 8 | v
    return IPv4Address(number << last_bits | values[-1])


def literal_address(host: str) -> IPAddress | None:
    """The address `host` (a URL's hostname, without brackets) spells, or None when it is a name."""
    bare = host.split("%", 1)[0]  # an IPv6 zone (fe80::1%eth0) does not change the address
    if ":" in bare:
        try:
            return IPv6Address(bare)
        except ValueError:
            return None
    return _inet_aton(bare[:-1] if bare.endswith(".") else bare)


def refused_name(host: str) -> str | None:
    """A reason to refuse a host name before resolving it: names that are loopback or metadata
    by definition, whatever a resolver says."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return "loopback address"
    if name in METADATA_NAMES:
        return "cloud metadata address"
    return None


# -- which addresses are refused --------------------------------------------------------------


def _embedded_ipv4(address: IPv6Address) -> tuple[IPv4Address | None, bool]:
    """An IPv4 address carried inside an IPv6 one, and whether a connection to the IPv6 address
    actually reaches it (mapped, NAT64) rather than merely carrying it (6to4, Teredo)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, True
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF), True
    if address.sixtofour is not None:
        return address.sixtofour, False
    if address.teredo is not None:
        return address.teredo[1], False
    return None, False


def _class(address: IPAddress) -> str | None:
    if address in METADATA:
        return "cloud metadata address"
    if address.is_unspecified:
        return "unspecified address"
    if address.is_loopback:
        return "loopback address"
    if address.is_link_local:
        return "link-local address"
    if address.is_multicast:
        return "multicast address"
    if address in _CGNAT:
        return "carrier-grade NAT address"
    if any(address in network for network in _PRIVATE):
        return "private address"
    if address.is_reserved:
        return "reserved address"
    if not address.is_global:  # documentation, benchmarking, 0.0.0.0/8, IETF assignments...
        return "non-public address"
    return None


def refusal(address: IPAddress, allowed: Iterable[Network] = ()) -> str | None:
    """Why a connection to `address` is refused ("loopback address"...), or None when it may be
    made: a public address, or one inside a network the operator allowed. Cloud metadata
    endpoints are refused whatever the allow-list says."""
    address = ipaddress.ip_address(int(address)) if isinstance(address, IPv6Address) and address.scope_id else address
    target = address
    if isinstance(address, IPv6Address):
        embedded, reaches = _embedded_ipv4(address)
        if embedded is not None:
            if reaches:
                target = embedded  # connecting to ::ffff:127.0.0.1 is connecting to 127.0.0.1
            elif (reason := _class(embedded)) is not None and not _allowed(embedded, allowed):
                return reason
    if target in METADATA:
        return "cloud metadata address"
    if _allowed(target, allowed):
        return None
    return _class(target)


def _allowed(address: IPAddress, allowed: Iterable[Network]) -> bool:
    return any(address.version == network.version and address in network for network in allowed)


def networks(value: str) -> tuple[Network, ...]:
    """The allow-list setting: networks separated by commas or spaces ("127.0.0.0/8, ::1/128")."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in re.split(r"[,\s]+", value.strip()) if item)


def check(host: str, addresses: Iterable[IPAddress], allowed: Iterable[Network] = ()) -> None:
    """Raises RefusedDestination if `host` or any address it resolved to is refused."""
    if (reason := refused_name(host)) is not None and not _allowed_name(host, allowed):
        raise RefusedDestination(reason, f"refused: {host} is a {reason}")
    for address in addresses:
        if (reason := refusal(address, allowed)) is not None:
            shown = host if literal_address(host) is not None else f"{host} resolves to {address}, which"
            raise RefusedDestination(reason, f"refused: {shown} is a {reason}")


def _allowed_name(host: str, allowed: Iterable[Network]) -> bool:
    """`localhost` passes the name check where the operator allowed loopback; the addresses it
    resolves to are still checked one by one."""
    return refused_name(host) == "loopback address" and (
        _allowed(IPv4Address("127.0.0.1"), allowed) or _allowed(IPv6Address("::1"), allowed))
