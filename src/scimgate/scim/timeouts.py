"""The request timeout: a SCIM request still unanswered after the limit gets a 503.

Only work that waits on the event loop can be cut short: reading a slow client's
body, waiting for a worker thread. Work already in a worker thread cannot be
interrupted; the database's statement timeout (``storage.database``, set to the same
limit) is what bounds it, and its 503 comes from there. When such work finishes after
the limit, its own answer is sent, late: a 503 then would hide a change that was made.
"""

import math

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scimgate.errors import ServiceUnavailableError

from .responses import error_response


class RequestTimeout:
    """Answer 503 with Retry-After to requests under ``prefixes`` running over ``seconds``.

    A ``/Bulk`` request is not cut as a whole: its operations are applied one by one,
    so a 503 would hide which of them were; each operation, sent through the
    application again, has the limit of its own.
    """

    def __init__(self, app: ASGIApp, seconds: float, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.seconds = seconds
        self.prefixes = prefixes

    def _applies(self, scope: Scope) -> bool:
        if scope["type"] != "http":
            return False
        path: str = scope["path"]
        if not any(path == p or path.startswith(p + "/") for p in self.prefixes):
            return False
        return path.rsplit("/", 1)[-1] != "Bulk"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        started = False

        async def answer(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                limit.deadline = math.inf
            if not limit.cancel_called:
                await send(message)
                return
            # The limit passed while the work was in a worker thread, and the work then
            # finished: its answer is sent whole (see the module docstring).
            with anyio.CancelScope(shield=True):
                await send(message)

        with anyio.CancelScope(deadline=anyio.current_time() + self.seconds) as limit:
            await self.app(scope, receive, answer)
        if limit.cancelled_caught and not started:
            error = ServiceUnavailableError(
                f"The request did not finish within {self.seconds:g} seconds and was "
                "stopped; retry later."
            )
            await error_response(error)(scope, receive, send)
