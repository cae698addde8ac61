"""One HTTP exchange as the request log sees it, recorded while it passes through.

Bodies are kept up to a limit and only counted beyond it, so a log entry costs
bounded memory whatever the client sends. The ``Authorization`` header is held only
until the organization has been looked up by the token's hash; it is never stored.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from starlette.types import Message, Receive, Scope, Send

from scimgate.storage.models import utcnow

# Headers worth reading when diagnosing a request; anything else may carry a secret.
REQUEST_HEADERS = ("content-type", "content-length", "accept", "if-match", "if-none-match")
RESPONSE_HEADERS = ("content-type", "location", "etag")


@dataclass
class Body:
    """The first ``limit`` bytes of a body, and how many bytes it had in all."""

    limit: int
    data: bytearray = field(default_factory=bytearray, repr=False)
    size: int = 0

    def add(self, chunk: bytes) -> None:
        """Count a chunk, keeping what fits under the limit."""
        self.size += len(chunk)
        room = self.limit - len(self.data)
        if room > 0:
            self.data.extend(chunk[:room])

    @property
    def truncated(self) -> bool:
        """Part of the body was dropped."""
        return self.size > len(self.data)


def _headers(raw: Iterable[tuple[bytes, bytes]], wanted: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        if key in wanted:
            found[key] = value.decode("latin-1")
    return found


@dataclass
class Exchange:
    """What the log keeps of one request and its response."""

    method: str
    path: str
    query: str
    user_agent: str | None
    request_headers: dict[str, str]
    request: Body
    response: Body
    authorization: str | None = field(default=None, repr=False)
    started_at: datetime = field(default_factory=utcnow)
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    duration_ms: float = 0.0
    warnings: list[str] = field(default_factory=list)
    org_id: str | None = None
    target_name: str | None = None
    """The name of the resource the request changed, when its answer has no body."""
    """The organization the request authenticated as, when it did."""
    _clock: float = field(default_factory=time.perf_counter, repr=False)

    @classmethod
    def begin(cls, scope: Scope, limit: int) -> "Exchange":
        """Start recording the request ``scope`` describes."""
        raw_headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        every = {name.decode("latin-1").lower(): value for name, value in raw_headers}
        agent, authorization = every.get("user-agent"), every.get("authorization")
        return cls(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            user_agent=agent.decode("latin-1") if agent is not None else None,
            request_headers=_headers(raw_headers, REQUEST_HEADERS),
            request=Body(limit),
            response=Body(limit),
            authorization=authorization.decode("latin-1") if authorization else None,
        )

    async def prefetch(self, receive: Receive) -> Receive:
        """Read the body up to the limit now, so it is logged even if the app never reads
        it (a request refused before its body is parsed); the app gets it replayed."""
        early: list[Message] = []
        while self.request.size <= self.request.limit:
            message = await receive()
            early.append(message)
            if message["type"] != "http.request":
                break
            self.request.add(message.get("body", b""))
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            if early:
                return early.pop(0)
            message = await receive()
            if message["type"] == "http.request":
                self.request.add(message.get("body", b""))
            return message

        return replay

    def recording(self, send: Send) -> Send:
        """``send``, noting the status, headers and body of the response on the way."""

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = int(message["status"])
                self.response_headers = _headers(message.get("headers", []), RESPONSE_HEADERS)
            elif message["type"] == "http.response.body":
                self.response.add(message.get("body", b""))
                if not message.get("more_body", False):
                    self.finish()
            await send(message)

        return record

    def finish(self) -> None:
        """Stop the clock: the response is complete (or failed)."""
        if not self.duration_ms:
            self.duration_ms = round((time.perf_counter() - self._clock) * 1000, 3)

    def failed(self) -> None:
        """Note an exception no handler turned into a response: the client gets a 500."""
        if self.status is None:
            self.status = 500
        self.finish()
