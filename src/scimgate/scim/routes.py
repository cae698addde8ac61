"""The SCIM route table, mounted at ``/scim`` and ``/scim/v2``."""

from starlette.routing import BaseRoute, Route

from . import bulk, discovery, groups, search, unsupported, users


def scim_routes() -> list[BaseRoute]:
    """Routes relative to the SCIM base URL."""
    return [
        Route("/.search", search.search_root, methods=["POST"]),
        Route("/Users/.search", users.search_users, methods=["POST"]),
        Route("/Groups/.search", groups.search_groups, methods=["POST"]),
        Route("/Users", users.list_users, methods=["GET"]),
        Route("/Users", users.create_user, methods=["POST"]),
        Route("/Users/{id}", users.get_user, methods=["GET"]),
        Route("/Users/{id}", users.replace_user, methods=["PUT"]),
        Route("/Users/{id}", users.patch_user, methods=["PATCH"]),
        Route("/Users/{id}", users.delete_user, methods=["DELETE"]),
        Route("/Groups", groups.list_groups, methods=["GET"]),
        Route("/Groups", groups.create_group, methods=["POST"]),
        Route("/Groups/{id}", groups.get_group, methods=["GET"]),
        Route("/Groups/{id}", groups.replace_group, methods=["PUT"]),
        Route("/Groups/{id}", groups.patch_group, methods=["PATCH"]),
        Route("/Groups/{id}", groups.delete_group, methods=["DELETE"]),
        Route("/Bulk", bulk.post_bulk, methods=["POST"]),
        Route("/Me", unsupported.me, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/ServiceProviderConfig", discovery.get_service_provider_config, methods=["GET"]),
        Route("/ResourceTypes", discovery.get_resource_types, methods=["GET"]),
        Route("/ResourceTypes/{id}", discovery.get_resource_types, methods=["GET"]),
        Route("/Schemas", discovery.get_schemas, methods=["GET"]),
        Route("/Schemas/{id:path}", discovery.get_schemas, methods=["GET"]),
    ]
