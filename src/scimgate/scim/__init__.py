"""The SCIM 2.0 HTTP adapter (RFC 7644): routes, discovery, mapping and responses."""
