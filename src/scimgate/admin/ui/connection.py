"""(being written)"""

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    """This module's pages, relative to ``/admin``, each starting ``/orgs/{org}``."""
    return []
