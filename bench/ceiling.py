"""The ceiling: a bare ASGI app answering every request with one fixed SCIM User.

Served by uvicorn like scimgate and driven by the same client, its requests per second
are the most the framework-free server, the client and this machine allow.
"""

import json
from typing import Any

_BODY = json.dumps(
    {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "0" * 32,
        "userName": "ceiling@example.com",
        "name": {"givenName": "Ceil", "familyName": "Ing"},
        "emails": [{"value": "ceiling@example.com", "type": "work", "primary": True}],
        "active": True,
        "meta": {"resourceType": "User", "version": 'W/"1"'},
    }
).encode()
_HEADERS = [
    (b"content-type", b"application/scim+json"),
    (b"content-length", str(len(_BODY)).encode()),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer any HTTP request with the fixed document; acknowledge lifespan events."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})
