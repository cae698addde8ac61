"""How a page runs: session, CSRF token and organization checks, one transaction, a template.

A page handler is a function ``(visit, session) -> Show | Redirect``. :func:`page`
wraps it into a Starlette endpoint that

1. for a POST, reads the form (bounded) and refuses a cross-origin ``Origin``;
2. in one transaction: resumes the session from its cookie (or sends the browser to
   sign in), checks the form's CSRF token, loads the organization of the path and
   checks that this administrator administers it (404 otherwise, so organizations one
   does not administer are not even confirmed to exist), then calls the handler;
3. renders the template outside the transaction, or redirects (303, POST/redirect/GET)
   with a one-time notice.

A domain error (:class:`ScimError` below 500) raised by a POST handler rolls its
transaction back, and the browser is sent back to the page with the error as a notice:
nothing is half-written and the administrator reads what to fix.
"""

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import Message

from scimgate.audit.keys import KeyRing
from scimgate.config import Settings
from scimgate.domain import admins, organizations
from scimgate.errors import ForbiddenError, NotFoundError, ScimError
from scimgate.scim import limits
from scimgate.scim.tenancy import in_transaction
from scimgate.storage.models import AdminAccount, Organization

logger = logging.getLogger("scimgate.admin.ui")

PREFIX = "/admin"
SESSION_COOKIE = "scimgate_session"
NOTICE_COOKIE = "scimgate_notice"
CSRF_FIELD = "csrf_token"
# A form holds a few fields; an IdP metadata document is a few kilobytes (some IdPs
# list many certificates): 1 MiB is far above both.
MAX_FORM_BYTES = 1024 * 1024
_MAX_FIELDS = 200

templates = Environment(
    loader=PackageLoader("scimgate.admin.ui", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Visit:
    """What a page handler reads: the request's parts, the administrator and the organization."""

    path: Mapping[str, str]
    query: Mapping[str, str]
    form: FormData
    settings: Settings
    ring: KeyRing
    """The request log key ring, to decrypt log entries."""
    account: AdminAccount
    session_id: str
    """The id of this browser's session (the hash of its cookie)."""
    org: Organization | None
    """The organization of the path, checked to be one this administrator administers."""
    origin: str
    """This server as the browser reached it (``https://host``), for URLs to copy."""

    @property
    def organization(self) -> Organization:
        """The path's organization; only for pages under ``/admin/orgs/{org}``."""
        assert self.org is not None
        return self.org

    def text(self, name: str, default: str = "") -> str:
        """A form field as text (a file field reads as empty)."""
        value = self.form.get(name, default)
        return value if isinstance(value, str) else default

    def upload(self, name: str) -> UploadFile | None:
        """A form's file field, if a file was chosen."""
        value = self.form.get(name)
        if isinstance(value, UploadFile) and value.filename:
            return value
        return None

    def checked(self, name: str) -> bool:
        """Whether a checkbox was ticked (browsers send unticked boxes not at all)."""
        return name in self.form


@dataclass(frozen=True)
class Show:
    """Render ``template`` with ``context``."""

    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    status: int = 200


@dataclass(frozen=True)
class Redirect:
    """Send the browser to ``to`` (a path under /admin), with an optional notice."""

    to: str
    notice: str | None = None
    end_session: bool = False
    """Clear the session cookie too (signing out)."""


Handler = Callable[[Visit, Session], Show | Redirect]
Endpoint = Callable[[Request], Awaitable[Response]]


def org_url(org: Organization, *parts: str) -> str:
    """The URL of a page of the organization: ``org_url(org, "logs")``."""
    tail = "/".join(quote(part, safe="") for part in parts)
    return f"{PREFIX}/orgs/{org.id}" + (f"/{tail}" if tail else "")


def render(
    request: Request, template: str, context: Mapping[str, Any], status: int = 200
) -> Response:
    """An HTML response of ``template``; the notice of a previous redirect is shown once."""
    notice = _read_notice(request)
    body = templates.get_template(template).render(
        {"notice": notice, "prefix": PREFIX, "csrf_field": CSRF_FIELD, **context}
    )
    response = HTMLResponse(body, status_code=status)
    if notice is not None:
        response.delete_cookie(NOTICE_COOKIE, path=PREFIX)
    return response


def redirect(
    request: Request, to: str, notice: str | None = None, *, error: bool = False
) -> Response:
    """A 303 to ``to`` carrying a one-time notice."""
    response = RedirectResponse(to, status_code=303)
    if notice:
        value = json.dumps({"text": notice[:500], "error": error})
        response.set_cookie(
            NOTICE_COOKIE,
            quote(value),
            max_age=120,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=secure_cookies(request),
        )
    return response


def secure_cookies(request: Request) -> bool:
    """Whether cookies get ``Secure``: when the browser came over HTTPS.

    Behind a TLS-terminating proxy the request itself may be plain HTTP; a configured
    ``https://`` public base URL says the browser's side is HTTPS all the same.
    """
    settings: Settings = request.app.state.settings
    public = (settings.public_base_url or "").lower()
    return request.url.scheme == "https" or public.startswith("https://")


def _read_notice(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(NOTICE_COOKIE)
    if not raw:
        return None
    try:
        value = json.loads(unquote(raw))
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        return None
    return {"text": value["text"], "error": value.get("error") is True}


def same_origin(request: Request) -> bool:
    """Whether a POST comes from a page of this server.

    Browsers send ``Origin`` on every cross-origin POST (Fetch standard); a foreign
    one is refused before the CSRF token is even looked at. A missing one (older
    browsers, some privacy settings) leaves the decision to the token.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


async def read_form(request: Request) -> FormData:
    """The POSTed form, refused when larger than :data:`MAX_FORM_BYTES`.

    The body is read through the bounded reader first: Starlette's form parser would
    otherwise hold a chunked urlencoded body of any size (the sign-in form is open to
    anyone). The form is then parsed from the bytes read.
    """
    body = await limits.read_body(request, MAX_FORM_BYTES)

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    bounded = Request(request.scope, replay)
    return await bounded.form(max_files=2, max_fields=_MAX_FIELDS, max_part_size=MAX_FORM_BYTES)


def page(handler: Handler, *, org: bool = True, write: bool = False) -> Endpoint:
    """An endpoint running ``handler`` for a signed-in administrator (see the module doc)."""

    async def endpoint(request: Request) -> Response:
        try:
            return await _run(request, handler, org=org, write=write)
        except _SignInFirstError:
            target = request.url.path if request.method == "GET" else PREFIX
            return RedirectResponse(f"{PREFIX}/login?next={quote(target)}", status_code=303)
        except ScimError as exc:
            if write and exc.status < 500 and exc.status not in (403, 404):
                # Back to the page the form was on, with what to fix.
                return redirect(request, _back(request), exc.detail, error=True)
            return error_page(request, exc)
        except Exception:
            logger.exception("Unhandled error on %s %s", request.method, request.url.path)
            return error_page(request, ScimError())

    return endpoint


class _SignInFirstError(Exception):
    """No valid session: the browser is sent to the sign-in page."""


async def _run(request: Request, handler: Handler, *, org: bool, write: bool) -> Response:
    form = FormData()
    if write:
        if not same_origin(request):
            raise ForbiddenError("This form was sent from another site and was refused.")
        form = await read_form(request)
    secret = request.cookies.get(SESSION_COOKIE)
    settings: Settings = request.app.state.settings
    ring: KeyRing = request.app.state.request_log.ring
    origin = f"{request.url.scheme}://{request.url.netloc}"
    stale: list[str] = []

    def work(session: Session) -> Show | Redirect:
        visitor = admins.resume(session, secret)
        if visitor is None:
            raise _SignInFirstError
        if write:
            offered = form.get(CSRF_FIELD)
            if not admins.same_token(
                visitor.csrf_token, offered if isinstance(offered, str) else None
            ):
                raise ForbiddenError(
                    "The form's security token is missing or out of date; reload the page "
                    "and send it again."
                )
            admins.touch(session, visitor.session_id)
        elif visitor.stale:
            stale.append(visitor.session_id)
        found = _organization(session, visitor.account, request.path_params) if org else None
        visit = Visit(
            path=request.path_params,
            query=request.query_params,
            form=form,
            settings=settings,
            ring=ring,
            account=visitor.account,
            session_id=visitor.session_id,
            org=found,
            origin=origin,
        )
        result = handler(visit, session)
        if isinstance(result, Show):
            # Every template gets who is signed in, their token for its forms, and
            # the organizations to switch between.
            result = Show(
                result.template,
                {
                    "account": visitor.account,
                    "csrf_token": visitor.csrf_token,
                    "org": found,
                    "my_orgs": admins.organizations_of(session, visitor.account),
                    **result.context,
                },
                result.status,
            )
        return result

    result = await in_transaction(request, work, write=write)
    if stale:
        # Page views are read transactions; activity is noted apart, once a minute.
        await in_transaction(request, lambda s: admins.touch(s, stale[0]), write=True)
    if isinstance(result, Redirect):
        response = redirect(request, result.to, result.notice)
        if result.end_session:
            response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response
    return render(request, result.template, result.context, result.status)


def _organization(
    session: Session, account: AdminAccount, params: Mapping[str, str]
) -> Organization:
    ref = params.get("org", "")
    try:
        found = organizations.get(session, ref)
    except NotFoundError:
        found = None
    if found is None or not admins.may_administer(session, account, found):
        raise NotFoundError("You administer no organization by that name or id.")
    return found


def _back(request: Request) -> str:
    """The page a form was sent from: its path, trimmed of the action's last segment."""
    path = request.url.path
    referer = request.headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        if parts.netloc == request.url.netloc and parts.path.startswith(PREFIX + "/"):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return path.rsplit("/", 1)[0] or PREFIX


def error_page(request: Request, error: ScimError) -> Response:
    """A page explaining ``error`` with its status."""
    status = error.status
    response = render(
        request, "error.html", {"status": status, "detail": error.detail}, status=status
    )
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response
