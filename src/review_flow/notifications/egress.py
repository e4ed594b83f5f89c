"""Where webhooks may send: public addresses only, unless the operator allows more.

A webhook URL is chosen by an admin, but the request is made by our server, from
inside its network: without a guard, a URL such as ``http://169.254.169.254/`` (cloud
metadata) or ``http://10.0.0.5:6379/`` reaches machines no admin of the application
should reach (server-side request forgery). So:

- at registration, a URL whose host is an address literal or ``localhost`` outside the
  allowed set is refused with the reason (host names are not resolved there: the check
  that counts is the next one);
- at delivery, the address the TCP connection actually reached is checked before a
  byte of the request is sent (after DNS, so a name that resolves, or is re-pointed,
  to an internal address is caught too), and such a delivery fails for good;
- deliveries go direct, ignoring proxy variables from the environment, so the address
  checked is the receiver's.

``REVIEW_FLOW_WEBHOOK_ALLOWED_NETWORKS`` (comma-separated CIDR blocks, e.g.
``10.20.0.0/16`` for an internal receiver, ``127.0.0.0/8`` on a development machine)
adds networks to the public internet.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from review_flow.errors import ValidationFailed

SETTING = "REVIEW_FLOW_WEBHOOK_ALLOWED_NETWORKS"
# Said to the admin registering a webhook: the setting's name is for whoever runs the
# server, so the advice names the person to ask, not the environment variable.
ADVICE = ("webhooks go only to public internet addresses; to reach a receiver on your own "
          "network, ask whoever runs this server to allow that network")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _kind(addr: Address) -> str:
    """What a non-public address is, in words an admin recognises."""
    for test, words in (
        ("is_unspecified", "the unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_private", "a private-network address"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(addr, test):
            return words
    return "not a public address"


@dataclass(frozen=True)
class EgressPolicy:
    """Public unicast addresses, plus ``allowed`` networks."""

    allowed: tuple[Network, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EgressPolicy:
        raw = str(config.get("WEBHOOK_ALLOWED_NETWORKS") or "")
        nets: list[Network] = []
        for part in (p.strip() for p in raw.split(",")):
            if not part:
                continue
            try:
                nets.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(
                    f"{SETTING}: {part!r} is not a network (write e.g. 10.20.0.0/16)"
                ) from None
        return cls(tuple(nets))

    def refusal(self, address: str) -> str | None:
        """None when we may connect to ``address``, else what it is ("a loopback
        address")."""
        try:
            addr: Address = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return "not an IP address"
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        if any(addr in net for net in self.allowed):
            return None
        if addr.is_global and not addr.is_multicast:
            return None
        return _kind(addr)

    def check_url(self, url: str) -> None:
        """Refuse, at registration, a URL that names a non-public host outright."""
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
        if host == "localhost" or host.endswith(".localhost"):
            kind = self.refusal("127.0.0.1")  # RFC 6761: always the loopback interface
            why = kind and f"{host} is the local machine, {kind}"
        else:
            literal = _address_literal(host)
            if literal is None:
                return  # a name: checked when a delivery connects
            kind = self.refusal(literal)
            why = kind and (
                f"{host} is {kind}" if literal == host else f"{host} means {literal}, {kind}"
            )
        if why:
            raise ValidationFailed(f"The address {why}: {ADVICE}.",
                                   fields={"url": f"{why}; {ADVICE}"})


def _address_literal(host: str) -> str | None:
    """The address a host names outright, including the legacy IPv4 spellings that
    resolvers accept (``127.1``, ``0x7f.0.0.1``, ``2130706433``), or None for a name."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return host
    except ValueError:
        pass
    try:
        return str(ipaddress.IPv4Address(socket.inet_aton(host)))
    except OSError:
        return None


class BlockedDestination(NewConnectionError):
    """The connection reached an address the policy does not allow; nothing was sent."""

    def __init__(self, conn: HTTPConnection, why: str) -> None:
        super().__init__(conn, why)
        self.why = why


# The socket each sending thread connected last, for ``deadline`` to cut.
_open: dict[int, socket.socket] = {}


_Conn = TypeVar("_Conn", bound=HTTPConnection)


def _guarded(policy: EgressPolicy, base: type[_Conn]) -> type[_Conn]:
    class Guarded(base):  # type: ignore[valid-type,misc]
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            peer = sock.getpeername()[0]
            kind = policy.refusal(peer)
            if kind is not None:
                sock.close()
                raise BlockedDestination(
                    self, f"not sent: {self.host} resolved to {peer}, {kind}; {ADVICE}"
                )
            _open[threading.get_ident()] = sock
            return sock

    return Guarded


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        policy = self._policy

        class Plain(HTTPConnectionPool):
            ConnectionCls = _guarded(policy, HTTPConnection)

        class Tls(HTTPSConnectionPool):
            ConnectionCls = _guarded(policy, HTTPSConnection)

        self.poolmanager.pool_classes_by_scheme = {"http": Plain, "https": Tls}


class Deadline:
    """Shuts the calling thread's connection down if its request is not over within
    ``seconds``: socket timeouts bound each wait, not the whole exchange, and a receiver
    dribbling a byte at a time would otherwise hold a deliverer past its lease. The
    session must open a connection per request (``guarded_session`` sends
    ``Connection: close``)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._ident = threading.get_ident()
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def _cut(self) -> None:
        sock = _open.get(self._ident)
        if sock is not None:
            self.fired = True
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Deadline:
        _open.pop(self._ident, None)
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _open.pop(self._ident, None)


def guarded_session(policy: EgressPolicy) -> requests.Session:
    """A requests session that connects only where ``policy`` allows, never via a proxy,
    with a fresh connection per request (each one checked, and cut by ``Deadline``)."""
    http = requests.Session()
    http.trust_env = False
    http.headers["Connection"] = "close"
    adapter = _GuardedAdapter(policy)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


def blocked_reason(exc: BaseException) -> str | None:
    """The policy's refusal inside a requests error, if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        reason = getattr(seen.args[0], "reason", None) if seen.args else None
        for candidate in (seen, reason):
            if isinstance(candidate, BlockedDestination):
                return candidate.why
        seen = seen.__cause__ or seen.__context__
    return None
