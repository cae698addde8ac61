"""Passwords are removed from bodies before they are sealed, JSON or not."""

from scimgate.audit.redaction import REDACTED, redact, redact_text


def test_json_passwords_in_any_case_and_place() -> None:
    """Attributes named password (any case, qualified) and PATCH values on its path go."""
    body = {
        "Password": "a",
        "urn:ietf:params:scim:schemas:core:2.0:User:password": "b",
        "Operations": [
            {"op": "replace", "PATH": "password", "value": "c"},
            {"op": "replace", "path": "displayName", "value": "kept"},
        ],
        "data": [{"nested": {"PASSWORD": {"deep": "d"}}}],
    }
    assert redact(body) == {
        "Password": REDACTED,
        "urn:ietf:params:scim:schemas:core:2.0:User:password": REDACTED,
        "Operations": [
            {"op": "replace", "PATH": "password", "value": REDACTED},
            {"op": "replace", "path": "displayName", "value": "kept"},
        ],
        "data": [{"nested": {"PASSWORD": REDACTED}}],
    }


def test_text_passwords() -> None:
    """In a body that is not JSON (or was cut), password pairs and PATCH values go too."""
    text = (
        '{"PassWord" : "se\\"cret", "Operations":['
        '{"value":"v1","op":"replace","path":"password"},'
        '{"op":"replace","path":"urn:x:User:password","value":"v2"},'
        '{"path":"name","value":"kept"}], "password": "cut-of'
    )
    redacted = redact_text(text)
    for secret in ('se\\"cret', "v1", "v2", "cut-of"):
        assert secret not in redacted
    assert '"kept"' in redacted and redacted.count(REDACTED) == 4
