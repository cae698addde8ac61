"""scimgate: a self-hosted, multi-tenant SCIM 2.0 provisioning service."""

__version__ = "0.1.0"
