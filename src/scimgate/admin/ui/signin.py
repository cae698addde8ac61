"""Signing in and out, and the list of organizations an administrator administers.

The sign-in form has no session to hold its CSRF token yet, so it uses a double-submit
token: a random value both in a SameSite=Strict cookie and in the form, which another
site can neither read nor set (OWASP CSRF cheat sheet, "signed double-submit cookie";
unsigned is enough here because the cookie is HttpOnly and only this host sets it).
"""

import math
import secrets
from urllib.parse import unquote, urlsplit

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from scimgate.domain import admins
from scimgate.errors import ForbiddenError, ScimError, TooManyRequestsError
from scimgate.scim.tenancy import in_transaction
from scimgate.scim.throttle import Throttle

from .pages import (
    CSRF_FIELD,
    PREFIX,
    SESSION_COOKIE,
    Redirect,
    Show,
    Visit,
    error_page,
    read_form,
    render,
    same_origin,
    secure_cookies,
)

LOGIN_COOKIE = "scimgate_login"


def _next_page(target: str | None) -> str:
    """Where to go after signing in: only a path of this UI, never another site."""
    if not target:
        return PREFIX
    parts = urlsplit(target)
    inside = target == PREFIX or target.startswith(PREFIX + "/")
    # Browsers resolve dot segments, percent-encoded ones too (WHATWG URL), so
    # "/admin/../scim" would leave the admin pages.
    dots = any(segment in (".", "..") for segment in unquote(parts.path).split("/"))
    if parts.scheme or parts.netloc or not inside or "\\" in target or dots:
        return PREFIX
    return target


def _login_form(request: Request, error: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {
            "login_token": token,
            "error": error,
            "next": _next_page(request.query_params.get("next")),
        },
        status=status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path=PREFIX + "/login",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )
    return response


async def login_page(request: Request) -> Response:
    """The sign-in form."""
    return _login_form(request)


async def login(request: Request) -> Response:
    """Check the name and password; open a session or say it failed (and count it)."""
    try:
        if not same_origin(request):
            raise ForbiddenError("This form was sent from another site and was refused.")
        _admit(request)
        form = await read_form(request)
        cookie = request.cookies.get(LOGIN_COOKIE)
        offered = form.get(CSRF_FIELD)
        if cookie is None or not admins.same_token(
            cookie, offered if isinstance(offered, str) else None
        ):
            raise ForbiddenError(
                "The sign-in form's security token is missing or out of date; reload the "
                "page and sign in again (cookies must be allowed for this site)."
            )
        username, password = form.get("username"), form.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            return _login_form(request, "Enter your name and password.", status=400)
        previous = request.cookies.get(SESSION_COOKIE)
        opened = await in_transaction(
            request, lambda s: _sign_in(s, username, password, previous), write=True
        )
    except ScimError as exc:
        return error_page(request, exc)
    if opened is None:
        return _login_form(
            request,
            "The name or password is wrong, or the account is locked after repeated "
            f"failures (for {admins.LOCKOUT.seconds // 60} minutes).",
            status=401,
        )
    given = form.get("next")
    target = _next_page(given if isinstance(given, str) else None)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened,
        max_age=int(admins.SESSION_LIFETIME.total_seconds()),
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX + "/login")
    return response


def _admit(request: Request) -> None:
    """Count a sign-in attempt against its client address; refuse past the rate (429).

    Per-account lockout stops guessing one account's password; this stops one address
    trying a few common passwords on every account (password spraying).
    """
    throttle: Throttle = request.app.state.sign_in_throttle
    address = request.client.host if request.client else "unknown"
    wait = throttle.take(address)
    if wait:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequestsError(
            f"Too many sign-in attempts from your address; try again in {seconds} s.",
            retry_after=seconds,
        )


def _sign_in(session: Session, username: str, password: str, previous: str | None) -> str | None:
    opened = admins.sign_in(session, username, password)
    if opened is not None and previous is not None:
        # Signing in again from a browser ends the session it had: one browser, one session.
        admins.sign_out_secret(session, previous)
    return opened.secret if opened else None


def logout(visit: Visit, session: Session) -> Show | Redirect:
    """End this browser's session (the page machinery checked its CSRF token)."""
    admins.sign_out(session, visit.session_id)
    return Redirect(f"{PREFIX}/login", "You are signed out.", end_session=True)


def home(visit: Visit, session: Session) -> Show | Redirect:
    """The organizations this administrator administers."""
    return Show("home.html", {})
