"""``POST /.search`` at the server root (RFC 7644 §3.4.3): every resource type at once."""

from starlette.requests import Request
from starlette.responses import Response

from .groups import GROUPS
from .listing import from_search_body, root_search
from .requests import read_json
from .tenancy import tenant
from .users import USERS


async def search_root(request: Request) -> Response:
    """POST /.search: Users and Groups matching one SearchRequest."""
    org = await tenant(request)
    params = from_search_body(await read_json(request))
    return await root_search(request, org, params, [USERS, GROUPS])
