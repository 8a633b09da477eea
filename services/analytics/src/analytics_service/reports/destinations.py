"""Where a tenant's SMTP settings may make the service connect. An admin names any host and
port, so without a check the service would knock on its own loopback, the cluster's private
addresses or the cloud's metadata endpoint for them (SSRF). Each address the host resolves to
when the service connects is checked (a name is no proof: it can resolve anywhere, and change),
and the connection goes to the address that was checked.

A destination is ``network`` (any port) or ``network:port`` (``[v6 network]:port`` for IPv6),
the network a CIDR or a single address: ``10.0.0.0/8``, ``127.0.0.1:8025``, ``[::1]:25``.
An address matching an allowed destination is allowed; else one matching a denied destination
is refused; else it is allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from loguru import logger

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Loopback, private, link-local (with the cloud metadata address 169.254.169.254), and the
# other ranges no tenant's mail server lives in.
DEFAULT_DENIED = (
    "0.0.0.0/8",  # "this network"
    "10.0.0.0/8",
    "100.64.0.0/10",  # carrier-grade NAT; Alibaba's metadata address 100.100.100.200
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, broadcast
    "168.63.129.16",  # Azure's platform address (metadata, DNS): a public one
    "::/128",
    "::1/128",
    "fc00::/7",  # unique local, AWS's metadata address fd00:ec2::254
    "fe80::/10",
    "ff00::/8",
)
# The development SMTP sink of `make run`, and the test servers on loopback.
DEVELOPMENT_ALLOWED = ("127.0.0.1:8025",)
TEST_ALLOWED = ("127.0.0.0/8", "::1")
# IPv6 forms that carry an IPv4 address: checked as that address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class DestinationDenied(Exception):
    """The host is, or resolves to, an address the settings do not allow."""


@dataclass(frozen=True)
class Destination:
    network: Network
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> Destination:
        text = text.strip()
        port: str | None = None
        if text.startswith("["):
            network, _, rest = text[1:].partition("]")
            if rest:
                if not rest.startswith(":"):
                    raise ValueError(f"{text!r}: expected [network]:port")
                port = rest[1:]
        elif text.count(":") == 1:
            network, port = text.split(":")
        else:
            network = text
        try:
            parsed = ipaddress.ip_network(network, strict=False)
            number = None if port is None else int(port)
        except ValueError as exc:
            raise ValueError(f"{text!r} is no network[:port]: {exc}") from exc
        if number is not None and not 1 <= number <= 65535:
            raise ValueError(f"{text!r}: the port must be 1 to 65535")
        return cls(parsed, number)

    def matches(self, address: Address, port: int) -> bool:
        return address in self.network and self.port in (None, port)


def _plain(address: Address) -> Address:
    """An IPv4-mapped or NAT64 address as the IPv4 address it reaches."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


@dataclass(frozen=True)
class SmtpPolicy:
    allowed: tuple[Destination, ...]
    denied: tuple[Destination, ...]

    @classmethod
    def from_lists(cls, allowed: Iterable[str], denied: Iterable[str]) -> SmtpPolicy:
        return cls(
            tuple(Destination.parse(a) for a in allowed),
            tuple(Destination.parse(d) for d in denied),
        )

    def permits(self, address: Address, port: int) -> bool:
        candidates = {address, _plain(address)}
        if any(d.matches(a, port) for d in self.allowed for a in candidates):
            return True
        return not any(d.matches(a, port) for d in self.denied for a in candidates)


async def resolve(policy: SmtpPolicy, host: str, port: int, seconds: float) -> list[Address]:
    """Every address ``host`` resolves to now, all of them allowed on ``port``.

    Raises DestinationDenied when one is not (a name that also resolves to a private address is
    refused whole), OSError (socket.gaierror, TimeoutError) when the name does not resolve."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP),
            seconds,
        )
    except UnicodeError as exc:  # a name IDNA cannot encode (a label over 63 characters)
        raise socket.gaierror(f"not a host name: {exc}") from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    refused = sorted((a for a in addresses if not policy.permits(a, port)), key=_order)
    if refused:
        # The addresses a name resolves to stay in the log: a tenant learns no internal DNS.
        logger.warning(
            "SMTP destination {} port {} refused: resolves to {}",
            host,
            port,
            ", ".join(str(a) for a in refused),
        )
        raise DestinationDenied(
            f"{host} port {port} is not an allowed SMTP destination (loopback, private, "
            "link-local and metadata addresses are refused unless the service allows them)"
        )
    return addresses


def _order(address: Address) -> tuple[int, int]:
    return address.version, int(address)


async def open_socket(addresses: list[Address], port: int, seconds: float) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers."""
    loop = asyncio.get_running_loop()
    error: OSError = OSError(f"no address to connect to on port {port}")
    for address in addresses:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (str(address), port)), seconds)
        except OSError as exc:  # TimeoutError included
            sock.close()
            error = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise error
