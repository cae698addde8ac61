"""Telling which identity provider is talking, from what its requests look like.

The result is shown to administrators (``scimgate org list``) and kept with each SCIM
request log entry. Request handling depends on it in one place only: the answer to a
group PATCH (see :func:`wants_patched_group`).
"""

# (substring of the lower-cased User-Agent, provider), first match wins.
_USER_AGENTS = (
    # "Okta SCIM Client 1.0.0": developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20
    ("okta", "okta"),
    # "Google-Auto-Provisioning": github.com/pond/scimitar/issues/142
    ("google", "google"),
    ("rippling", "rippling"),
    ("keycloak", "keycloak"),
    # mitodl/keycloak-scim sets no User-Agent of its own, so its HTTP client's default
    # shows (an inference from its source; see docs/idp/quirks-google-keycloak-rippling.md).
    ("apache-httpclient", "keycloak"),
    ("azure", "entra"),
    ("microsoft", "entra"),
)


def detect(user_agent: str | None, query: str) -> tuple[str | None, bool]:
    """Name the IdP a request comes from (None: nothing gives it away), and whether for sure.

    A guess never overrides a provider already recognized for sure: Okta's own test
    suite, for one, sends some requests without a User-Agent.
    """
    if "aadoptscim062020" in query.lower():
        # The compliance flag only Entra appends to its tenant URL (Microsoft's page
        # "Known issues and resolutions with SCIM 2.0 protocol compliance").
        return "entra", True
    if not user_agent or not user_agent.strip():
        # Entra documents no User-Agent and is the one client here seen sending none.
        return "entra", False
    agent = user_agent.lower()
    return next((idp for needle, idp in _USER_AGENTS if needle in agent), None), True


def wants_patched_group(user_agent: str | None, query: str) -> bool:
    """Tell whether a group PATCH must answer 200 with the group rather than 204.

    RFC 7644 §3.5.2 allows either, and group PATCHes answer 204 (their full answer
    grows with the group). The SCIM-SDK client inside Keycloak's SCIM extensions
    accepted only 200 for a PATCH before its PR #519 (2023), and older builds still
    ship it: a 204 would fail their membership pushes.
    """
    return detect(user_agent, query)[0] == "keycloak"
