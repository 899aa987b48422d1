"""How every HTTP adapter talks to its server: timeouts, TLS, proxies and a cap on replies.

:class:`HttpSettings` is the one value holding those choices, checked when it is made, and the
one place that turns them into an ``httpx.Client`` or the ``requests`` session a zeep transport
drives. The ERP settings extend it (their field names are this value's); the service-desk sinks
and the Jamf and OpenCost pulls keep their own, older public names (``timeout``,
``max_reply_bytes``) and build this value with :meth:`HttpSettings.named`, so a bad value is
reported under the name the user wrote.

Replies are read with :func:`read_capped_httpx`, so a hostile or broken server cannot exhaust
memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx
import requests

from ledger.errors import InputError

MIB = 1024 * 1024


class ResponseTooLargeError(Exception):
    """The reply was larger than the configured cap; it was not read further."""


def read_capped_httpx(response: httpx.Response, limit: int) -> bytes:
    """Read a streamed httpx response, refusing more than ``limit`` bytes."""
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ResponseTooLargeError(f"the reply announces {declared} bytes, over the {limit} cap")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ResponseTooLargeError(f"the reply exceeds the {limit}-byte cap")
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    """Timeouts, TLS and the reply cap of one HTTP connection; holds no secret.

    Keyword-only, so that an adapter's settings can extend it and keep their own positional
    fields (``base_url`` ...) first.

    Attributes:
        connect_timeout: seconds to open a connection (above 0).
        operation_timeout: seconds to wait for each read or write of a reply (above 0).
        max_response_bytes: replies larger than this are refused unread (at least 1).
        verify_tls: True (the system's CA store), or the path of a CA bundle file or
            directory, which must exist; False turns verification off (a lab, never
            production; no adapter does it unasked).
        trust_env: honour proxy and CA-bundle environment variables (HTTPS_PROXY, NO_PROXY,
            REQUESTS_CA_BUNDLE ...) and ``.netrc``; off by default.
    """

    connect_timeout: float = 10.0
    operation_timeout: float = 60.0
    max_response_bytes: int = 10 * MIB
    verify_tls: bool | str = True
    trust_env: bool = False

    def __post_init__(self) -> None:
        self.check()

    @classmethod
    def named(cls, names: Mapping[str, str], *, source: str, **values: Any) -> HttpSettings:
        """Settings from ``values`` for an adapter whose settings use other names: an error
        names the adapter's field (``names`` maps this value's field to it, e.g.
        ``{"operation_timeout": "timeout"}``) and ``source``."""
        try:
            return cls(**values)
        except InputError as exc:
            raise InputError(exc.message, source=source,
                             field=names.get(exc.field or "", exc.field),
                             value=exc.value) from None

    def check(self, *, source: str | None = None) -> None:
        """Raise :class:`InputError` naming the first bad field (and a missing CA bundle's
        path)."""
        source = source or f"{type(self).__name__}"
        for name in ("connect_timeout", "operation_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value) or value <= 0:
                raise InputError("must be a number of seconds above 0", source=source,
                                 field=name, value=value)
        cap = self.max_response_bytes
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise InputError("must be a whole number of bytes, at least 1", source=source,
                             field="max_response_bytes", value=cap)
        verify = self.verify_tls
        if isinstance(verify, str):
            if not verify.strip() or not Path(verify).expanduser().exists():
                raise InputError(f"the CA bundle {verify!r} does not exist", source=source,
                                 field="verify_tls", value=verify)
        elif not isinstance(verify, bool):
            raise InputError("must be true, false or the path of a CA bundle", source=source,
                             field="verify_tls", value=verify)

    @property
    def http(self) -> HttpSettings:
        """The connection settings alone (an adapter's settings that extend this value)."""
        return HttpSettings(**{f.name: getattr(self, f.name) for f in fields(HttpSettings)})

    @property
    def verify(self) -> bool | str:
        """``verify_tls`` as httpx and requests take it (a CA path with ``~`` expanded)."""
        if isinstance(self.verify_tls, str):
            return str(Path(self.verify_tls).expanduser())
        return self.verify_tls

    def httpx_timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.operation_timeout, connect=self.connect_timeout)

    def httpx_client(self, **options: Any) -> httpx.Client:
        """An ``httpx.Client`` with these timeouts and TLS settings that never follows a
        redirect (a redirect would carry the credentials elsewhere); ``options`` (``auth``,
        ``base_url``, ``headers``, ``transport``) are passed on."""
        return httpx.Client(verify=self.verify, trust_env=self.trust_env,
                            follow_redirects=False, timeout=self.httpx_timeout(), **options)

    def requests_session(self, auth: Any = None) -> requests.Session:
        """A ``requests`` session with these TLS settings, for a zeep transport."""
        session = requests.Session()
        session.auth = auth
        session.verify = self.verify
        session.trust_env = self.trust_env
        return session

    def zeep_transport_options(self, auth: Any = None) -> dict[str, Any]:
        """Keyword arguments of a ``zeep.transports.Transport``: the session and timeouts
        (``timeout`` loads local WSDL parts; each operation gets connect and read timeouts)."""
        return {"session": self.requests_session(auth), "timeout": self.connect_timeout,
                "operation_timeout": (self.connect_timeout, self.operation_timeout)}

    def read_capped(self, response: httpx.Response) -> bytes:
        """A streamed reply's body, refusing more than ``max_response_bytes``."""
        return read_capped_httpx(response, self.max_response_bytes)
