"""Security headers on the admin API's responses, and the subset SCIM responses need.

The admin API answers JSON to scripts, never pages to be framed, sniffed or cached, so
its responses forbid all of that. SCIM responses carry personal data (names, email
addresses, phone numbers): no cache may keep them and no browser may sniff them into
something executable. A header the handler already set is left as it is, so a future
admin page can send its own ``Content-Security-Policy``.
"""

from collections.abc import Iterable, Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ADMIN_HEADERS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    # frame-ancestors in the policy is the modern form; X-Frame-Options covers
    # browsers that predate CSP level 2.
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
"""Headers of every response under the admin prefix."""

UI_HEADERS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Scripts and styles only from this server's own files, never inline: an injected
    # <script> in a logged value cannot run even if escaping were ever missed.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    # Same-origin referrers let a refused form send the browser back to its page.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Headers of every response of the admin web UI under ``/admin``."""

SCIM_HEADERS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    # Personal data must not stay in shared or browser caches; conditional requests
    # (If-None-Match, RFC 7644 §3.14) still work, since the client keeps the ETag.
    "Cache-Control": "no-store",
}
"""Headers of every response under the SCIM prefixes."""


class SecurityHeaders:
    """Add a set of headers to each HTTP response whose path is under one of ``prefixes``."""

    def __init__(
        self, app: ASGIApp, rules: Iterable[tuple[tuple[str, ...], Mapping[str, str]]]
    ) -> None:
        self.app = app
        self.rules = [(prefixes, dict(headers)) for prefixes, headers in rules]

    def _headers_for(self, path: str) -> dict[str, str] | None:
        for prefixes, headers in self.rules:
            if any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes):
                return headers
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = self._headers_for(scope["path"]) if scope["type"] == "http" else None
        if headers is None:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                present = MutableHeaders(scope=message)
                for name, value in headers.items():
                    present.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
