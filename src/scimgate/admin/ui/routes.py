"""The admin web UI's routes, mounted at ``/admin`` by the app."""

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from . import connection, logs, overview, people, roles, signin
from .pages import page

ui_home = page(signin.home, org=False)
"""The home page, at ``/admin`` itself (mounted routes only see paths below it)."""


def ui_routes() -> list[BaseRoute]:
    """Every page of the admin web UI, relative to ``/admin``."""
    return [
        Route("/login", signin.login_page, methods=["GET"]),
        Route("/login", signin.login, methods=["POST"]),
        Route("/logout", page(signin.logout, org=False, write=True), methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("scimgate.admin.ui", "static")]), name="static"),
        *org_routes(),
    ]


def org_routes() -> list[BaseRoute]:
    """The pages of the organizations, each module's paths starting ``/orgs/{org}``."""
    return [
        *overview.routes(),
        *connection.routes(),
        *roles.routes(),
        *logs.routes(),
        *people.routes(),
    ]
