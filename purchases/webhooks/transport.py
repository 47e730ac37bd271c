"""One POST to an endpoint, only ever to a public address unless the settings allow others.

urllib3 (what requests is built on) is used directly: it lets the connection go to the
address that was checked while the TLS certificate and the Host header still name the
endpoint's host, so a DNS answer that changes between the check and the connection
cannot point the POST at an internal address.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass

import urllib3
from django.conf import settings
from urllib3.util import parse_url

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0


class AddressRefused(Exception):
    """The endpoint's host is not a public address, or does not resolve."""


@dataclass(frozen=True)
class Answer:
    status: int | None
    duration_ms: int
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def checked_address(host: str, port: int) -> str:
    """The address to connect to: every address the host resolves to must be allowed."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise AddressRefused(f"{host} does not resolve ({error}).") from error
    addresses = [answer[4][0] for answer in answers]
    if not addresses:
        raise AddressRefused(f"{host} does not resolve.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        refused = [address for address in addresses if not _allowed(address)]
        if refused:
            raise AddressRefused(
                f"{host} is a private address ({refused[0]}); only public ones are sent to."
            )
    return addresses[0]


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url`; never follows a redirect, gives up within a few seconds."""
    started = time.monotonic()

    def answer(status: int | None, error: str = "") -> Answer:
        return Answer(status, int((time.monotonic() - started) * 1000), error[:300])

    parts = parse_url(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = checked_address(parts.host, port)
    except AddressRefused as error:
        return answer(None, str(error))
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            server_hostname=parts.host,
            assert_hostname=parts.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    host_header = parts.host if parts.port is None else f"{parts.host}:{parts.port}"
    try:
        response = pool.urlopen(
            "POST",
            parts.request_uri,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            retries=False,
            preload_content=False,
        )
        response.release_conn()
        return answer(response.status)
    except urllib3.exceptions.HTTPError as error:
        return answer(None, f"No answer: {error.__class__.__name__}")
    finally:
        pool.close()
