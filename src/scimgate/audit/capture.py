"""The ASGI middleware that records every SCIM request for the request log.

It sits inside the error middleware, so it sees the response each request gets,
including SCIM error bodies. The entry is written after the last byte of the response
has been handed to the server, so logging adds nothing to the time a client waits.

A ``/Bulk`` request sends each operation through the application again (see
``scim/bulk.py``); those inner requests inherit the request state, find the outer
request's exchange there, and only add their warnings to it: one request, one entry.
"""

from starlette.types import ASGIApp, Receive, Scope, Send

from .exchange import Exchange
from .recorder import Recorder

STATE_KEY = "request_log_exchange"
# Where ``scim.tenancy.in_transaction`` leaves provisioning warnings for the log.
WARNINGS_KEY = "scim_warnings"
# Set by the SCIM layer (``scim.tenancy.tenant``) once the bearer token is accepted.
ORG_KEY = "scim_org_id"
# Set by the SCIM layer when a change answers 204: the changed resource's name.
NAME_KEY = "scim_target_name"


class RequestCapture:
    """Record each request under the SCIM prefixes and have ``recorder`` log it."""

    def __init__(self, app: ASGIApp, recorder: Recorder) -> None:
        self.app = app
        self.recorder = recorder

    def _is_scim(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.recorder.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._is_scim(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        outer: Exchange | None = state.get(STATE_KEY)
        if outer is not None:
            await self._inner(outer, scope, receive, send)
            return
        exchange = Exchange.begin(scope, self.recorder.max_body_bytes)
        state[STATE_KEY] = exchange
        try:
            replay = await exchange.prefetch(receive)
            await self.app(scope, replay, exchange.recording(send))
        except BaseException:
            exchange.failed()
            raise
        finally:
            exchange.finish()
            exchange.warnings.extend(state.get(WARNINGS_KEY, []))
            # The organization the SCIM layer authenticated, which spares the recorder a
            # second token look-up; absent when authentication failed.
            exchange.org_id = state.get(ORG_KEY)
            exchange.target_name = state.get(NAME_KEY)
            await self.recorder.record(exchange)

    async def _inner(self, outer: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
        """Run a bulk operation's request; its warnings join the bulk request's entry."""
        state = scope["state"]
        inherited = len(state.get(WARNINGS_KEY, []))
        try:
            await self.app(scope, receive, send)
        finally:
            outer.warnings.extend(state.get(WARNINGS_KEY, [])[inherited:])
