"""Where the server connects because a tenant admin said so. The admin names the issuer and the issuer's
discovery document names the other endpoints, so none of them is trusted with the server's place in the
network: a provider URL is https, on the issuer's origin (or on a host in ENCLAVE_OIDC_ENDPOINT_HOSTS),
and every address its host resolves to is public (or in ENCLAVE_OIDC_PRIVATE_NETWORKS). Loopback, and
plain http to it, only with ENCLAVE_OIDC_ALLOW_LOOPBACK (tests, development); link-local and cloud
metadata addresses never. The host is resolved again at every request and the connection goes to the
address that was checked, so a DNS answer that changes in between changes nothing. Redirects are
never followed. Refusals name the rule, never the address a name resolved to."""

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

DEFAULT_PORTS = {"http": 80, "https": 443}
# Metadata services outside link-local (169.254.0.0/16, refused whole): AWS over IPv6, Alibaba Cloud.
METADATA_ADDRESSES = frozenset(map(ipaddress.ip_address, ("fd00:ec2::254", "100.100.100.200")))
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class ProviderUrlRefused(Exception):
    """A provider URL this server does not connect to; the message is safe to show to the tenant."""


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ProviderUrlRefused("is not an https URL")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise ProviderUrlRefused("has an invalid port") from exc
    return parts.scheme, parts.hostname.lower().rstrip("."), port


def endpoint_checked(url: str, *, issuer: str) -> None:
    """An endpoint named by the discovery document: on the issuer's origin, or https on a listed host."""
    scheme, host, _port = origin = _origin(url)
    if origin == _origin(issuer):
        return
    if scheme == "https" and host in {name.lower() for name in settings.ENCLAVE_OIDC_ENDPOINT_HOSTS}:
        return
    raise ProviderUrlRefused("is not on the issuer's origin (the operator may allow other hosts)")


def _allowed(address: Address) -> bool:
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES or address.is_link_local or address.is_multicast or address.is_unspecified:
        return False
    if address.is_loopback:
        return settings.ENCLAVE_OIDC_ALLOW_LOOPBACK
    if address.is_global:
        return True
    return any(address in network for network in settings.ENCLAVE_OIDC_PRIVATE_NETWORKS)


def _resolved(host: str, port: int) -> list[Address]:
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(entry[4][0].split("%")[0]) for entry in found))


def _addresses_checked(scheme: str, addresses: list[Address]) -> None:
    if not all(map(_allowed, addresses)):
        raise ProviderUrlRefused(
            "resolves to an address this server does not connect to (private, loopback, link-local or metadata)"
        )
    if scheme == "http" and not (addresses and all(address.is_loopback for address in addresses)):
        raise ProviderUrlRefused("is not an https URL")


def address_checked(url: str) -> Address:
    """The address to connect to for `url`, resolved now; refused unless every address is allowed."""
    scheme, host, port = _origin(url)
    try:
        addresses = _resolved(host, port)
    except (OSError, UnicodeError) as exc:
        raise ProviderUrlRefused("has a host name that does not resolve") from exc
    _addresses_checked(scheme, addresses)
    return addresses[0]


def issuer_checked(issuer: str) -> None:
    """At configure time. A name that does not resolve yet is let through: every request resolves it again."""
    scheme, host, port = _origin(issuer)
    try:
        addresses = _resolved(host, port)
    except (OSError, UnicodeError):
        addresses = []
    _addresses_checked(scheme, addresses)


class _CheckedAddressAdapter(HTTPAdapter):
    """Connects to the address `address_checked` returned; TLS still checks the certificate against the name."""

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        name = host_params["host"]
        host_params["host"] = str(address_checked(request.url))
        if host_params["scheme"] == "https":
            pool_kwargs.update(server_hostname=name, assert_hostname=name)
        return host_params, pool_kwargs

    def send(self, request, **kwargs):
        request.headers["Host"] = urlsplit(request.url).netloc.rpartition("@")[2]
        response = super().send(request, **kwargs)
        if response.is_redirect:
            response.close()
            raise ProviderUrlRefused("answered with a redirect, which this server does not follow")
        return response


def guarded(session: requests.Session) -> requests.Session:
    """`session`, made to connect only as the rules above allow."""
    adapter = _CheckedAddressAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
