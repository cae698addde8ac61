"""Tests of SAML IdP metadata parsing and SSO settings validation."""

import base64
import dataclasses
import re
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import escape

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from scimgate.domain.sso import (
    HTTP_POST_BINDING,
    HTTP_REDIRECT_BINDING,
    MD_NS,
    SAML2_PROTOCOL,
    SsoSettings,
    build_settings,
    demo_settings,
    describe_certificate,
    parse_metadata,
)
from scimgate.errors import InvalidValueError

ENTITY_ID = "https://idp.example.com/saml/metadata"
REDIRECT_URL = "https://idp.example.com/saml/sso/redirect"
POST_URL = "https://idp.example.com/saml/sso/post"
ARTIFACT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"
SAML11_PROTOCOL = "urn:oasis:names:tc:SAML:1.1:protocol"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"


# --- test data builders -------------------------------------------------------------


def make_certificate(common_name: str = "Test IdP signing") -> x509.Certificate:
    """Return a fresh self-signed EC certificate with the given common name."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def pem(cert: x509.Certificate) -> str:
    """Return the certificate as PEM text."""
    return cert.public_bytes(Encoding.PEM).decode("ascii")


def wrapped_base64(der: bytes) -> str:
    """Return base64 wrapped and indented the way IdPs write ds:X509Certificate."""
    lines = textwrap.wrap(base64.b64encode(der).decode("ascii"), 64)
    return "\n" + "".join(f"            {line}\n" for line in lines) + "        "


def key_descriptor(cert_text: str, use: str | None = "signing") -> str:
    """Return an md:KeyDescriptor holding the given ds:X509Certificate text."""
    use_attribute = "" if use is None else f' use="{use}"'
    return (
        f"<md:KeyDescriptor{use_attribute}><ds:KeyInfo><ds:X509Data>"
        f"<ds:X509Certificate>{cert_text}</ds:X509Certificate>"
        "</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
    )


def sso_service(binding: str, location: str) -> str:
    """Return an md:SingleSignOnService endpoint."""
    return f'<md:SingleSignOnService Binding="{escape(binding)}" Location="{escape(location)}"/>'


def idp_descriptor(*children: str, protocol: str = SAML2_PROTOCOL) -> str:
    """Return an md:IDPSSODescriptor with the given children."""
    return (
        f'<md:IDPSSODescriptor protocolSupportEnumeration="{protocol}">'
        + "".join(children)
        + "</md:IDPSSODescriptor>"
    )


def entity_descriptor(*roles: str, entity_id: str | None = ENTITY_ID) -> str:
    """Return an md:EntityDescriptor with the given roles, declaring md and ds."""
    entity_id_attribute = "" if entity_id is None else f' entityID="{escape(entity_id)}"'
    return (
        f'<md:EntityDescriptor xmlns:md="{MD_NS}" xmlns:ds="{DS_NS}"{entity_id_attribute}>'
        + "".join(roles)
        + "</md:EntityDescriptor>"
    )


def idp_metadata(cert: x509.Certificate, location: str = REDIRECT_URL) -> str:
    """Return a complete, ordinary IdP metadata document."""
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + entity_descriptor(
        idp_descriptor(
            key_descriptor(wrapped_base64(cert.public_bytes(Encoding.DER))),
            sso_service(HTTP_REDIRECT_BINDING, location),
        )
    )


@pytest.fixture(scope="module")
def signing_cert() -> x509.Certificate:
    """The IdP's signing certificate."""
    return make_certificate("Test IdP signing")


@pytest.fixture(scope="module")
def encryption_cert() -> x509.Certificate:
    """A second certificate, published only for encryption."""
    return make_certificate("Test IdP encryption")


def signing_key(cert: x509.Certificate, use: str | None = "signing") -> str:
    """Return a KeyDescriptor for the certificate as wrapped base64 DER."""
    return key_descriptor(wrapped_base64(cert.public_bytes(Encoding.DER)), use)


# --- parse_metadata: happy paths ----------------------------------------------------


@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_entity_descriptor_root(signing_cert: x509.Certificate, as_bytes: bool) -> None:
    """An EntityDescriptor root yields its entityID, SSO location and signing cert."""
    document = idp_metadata(signing_cert)
    settings = parse_metadata(document.encode() if as_bytes else document)
    assert settings == SsoSettings(
        entity_id=ENTITY_ID, sso_url=REDIRECT_URL, certificate_pem=pem(signing_cert)
    )


def test_entities_descriptor_takes_first_entity_with_idp(
    signing_cert: x509.Certificate,
) -> None:
    """Inside (nested) EntitiesDescriptors, the first entity with an IdP role is used."""
    sp_only = entity_descriptor(
        '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>',
        entity_id="https://sp.example.com",
    )
    idp = entity_descriptor(
        idp_descriptor(signing_key(signing_cert), sso_service(HTTP_POST_BINDING, POST_URL))
    )
    other_idp = entity_descriptor(
        idp_descriptor(signing_key(signing_cert), sso_service(HTTP_POST_BINDING, POST_URL)),
        entity_id="https://other-idp.example.com",
    )
    document = (
        f'<md:EntitiesDescriptor xmlns:md="{MD_NS}">{sp_only}'
        f"<md:EntitiesDescriptor>{idp}</md:EntitiesDescriptor>{other_idp}"
        "</md:EntitiesDescriptor>"
    )
    assert parse_metadata(document).entity_id == ENTITY_ID


def test_redirect_binding_preferred_over_post(signing_cert: x509.Certificate) -> None:
    """The HTTP-Redirect endpoint wins over an HTTP-POST one listed before it."""
    document = entity_descriptor(
        idp_descriptor(
            signing_key(signing_cert),
            sso_service(HTTP_POST_BINDING, POST_URL),
            sso_service(HTTP_REDIRECT_BINDING, REDIRECT_URL),
        )
    )
    assert parse_metadata(document).sso_url == REDIRECT_URL


def test_post_binding_preferred_over_other_bindings(signing_cert: x509.Certificate) -> None:
    """Without HTTP-Redirect, HTTP-POST wins over other bindings listed before it."""
    document = entity_descriptor(
        idp_descriptor(
            signing_key(signing_cert),
            sso_service(ARTIFACT_BINDING, "https://idp.example.com/artifact"),
            sso_service(HTTP_POST_BINDING, POST_URL),
        )
    )
    assert parse_metadata(document).sso_url == POST_URL


def test_any_binding_used_as_last_resort(signing_cert: x509.Certificate) -> None:
    """With neither HTTP-Redirect nor HTTP-POST, the first endpoint listed is used."""
    document = entity_descriptor(
        idp_descriptor(
            signing_key(signing_cert),
            sso_service(ARTIFACT_BINDING, "https://idp.example.com/artifact"),
        )
    )
    assert parse_metadata(document).sso_url == "https://idp.example.com/artifact"


def test_saml2_idp_role_preferred_over_saml11(signing_cert: x509.Certificate) -> None:
    """An IDPSSODescriptor for SAML 2.0 wins over a SAML 1.1 one listed before it."""
    document = entity_descriptor(
        idp_descriptor(
            signing_key(signing_cert),
            sso_service(HTTP_POST_BINDING, "https://idp.example.com/saml1"),
            protocol=SAML11_PROTOCOL,
        ),
        idp_descriptor(signing_key(signing_cert), sso_service(HTTP_POST_BINDING, POST_URL)),
    )
    assert parse_metadata(document).sso_url == POST_URL


def test_signing_key_chosen_over_encryption_key(
    signing_cert: x509.Certificate, encryption_cert: x509.Certificate
) -> None:
    """The use="signing" certificate is chosen over an encryption one listed first."""
    document = entity_descriptor(
        idp_descriptor(
            signing_key(encryption_cert, use="encryption"),
            signing_key(signing_cert, use="signing"),
            sso_service(HTTP_REDIRECT_BINDING, REDIRECT_URL),
        )
    )
    assert parse_metadata(document).certificate_pem == pem(signing_cert)


def test_key_without_use_serves_for_signing(signing_cert: x509.Certificate) -> None:
    """A KeyDescriptor without a use attribute is accepted as the signing key."""
    document = entity_descriptor(
        idp_descriptor(
            signing_key(signing_cert, use=None),
            sso_service(HTTP_REDIRECT_BINDING, REDIRECT_URL),
        )
    )
    assert parse_metadata(document).certificate_pem == pem(signing_cert)


# --- parse_metadata: refused documents ----------------------------------------------


def test_billion_laughs_refused() -> None:
    """A document with an entity expansion bomb is refused as a DTD."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    ]
    document = (
        '<?xml version="1.0"?>\n<!DOCTYPE md:EntityDescriptor [\n'
        + "\n".join(entities)
        + f'\n]>\n<md:EntityDescriptor xmlns:md="{MD_NS}" entityID="&lol9;"/>'
    )
    with pytest.raises(InvalidValueError, match="DTD or entity declaration"):
        parse_metadata(document)


def test_external_entity_refused() -> None:
    """A document declaring an external entity (XXE) is refused as a DTD."""
    document = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE md:EntityDescriptor [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        f'<md:EntityDescriptor xmlns:md="{MD_NS}" entityID="&xxe;"/>'
    )
    with pytest.raises(InvalidValueError, match="DTD or entity declaration"):
        parse_metadata(document)


def test_external_dtd_refused(signing_cert: x509.Certificate) -> None:
    """A document referring to an external DTD is refused even if otherwise valid."""
    document = (
        '<!DOCTYPE md:EntityDescriptor SYSTEM "https://attacker.example/evil.dtd">\n'
        + entity_descriptor(
            idp_descriptor(
                signing_key(signing_cert), sso_service(HTTP_REDIRECT_BINDING, REDIRECT_URL)
            )
        )
    )
    with pytest.raises(InvalidValueError, match="DTD or entity declaration"):
        parse_metadata(document)


@pytest.mark.parametrize(
    "document",
    ["", "not xml at all", f'<md:EntityDescriptor xmlns:md="{MD_NS}">', "<a></b>"],
    ids=["empty", "text", "unclosed", "mismatched"],
)
def test_malformed_xml_refused(document: str) -> None:
    """A document that is not well-formed XML is refused with the parser's reason."""
    with pytest.raises(InvalidValueError, match="not well-formed XML"):
        parse_metadata(document)


def test_non_metadata_root_refused() -> None:
    """A well-formed document whose root is not SAML metadata is refused."""
    with pytest.raises(InvalidValueError, match="root element"):
        parse_metadata('<EntityDescriptor entityID="https://idp.example.com"/>')


def test_service_provider_metadata_refused() -> None:
    """Metadata with no IDPSSODescriptor (an SP's metadata) is refused."""
    document = entity_descriptor(
        '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>'
    )
    with pytest.raises(InvalidValueError, match="no IDPSSODescriptor"):
        parse_metadata(document)


def test_missing_entity_id_refused(signing_cert: x509.Certificate) -> None:
    """An EntityDescriptor without an entityID attribute is refused."""
    document = entity_descriptor(
        idp_descriptor(signing_key(signing_cert), sso_service(HTTP_POST_BINDING, POST_URL)),
        entity_id=None,
    )
    with pytest.raises(InvalidValueError, match="no entityID"):
        parse_metadata(document)


def test_missing_sso_service_refused(signing_cert: x509.Certificate) -> None:
    """An IDPSSODescriptor without a SingleSignOnService is refused."""
    document = entity_descriptor(idp_descriptor(signing_key(signing_cert)))
    with pytest.raises(InvalidValueError, match="with a SingleSignOnService"):
        parse_metadata(document)


def test_missing_certificate_refused() -> None:
    """An IDPSSODescriptor without any KeyDescriptor is refused."""
    document = entity_descriptor(idp_descriptor(sso_service(HTTP_POST_BINDING, POST_URL)))
    with pytest.raises(InvalidValueError, match="no signing certificate"):
        parse_metadata(document)


def test_encryption_only_certificate_refused(encryption_cert: x509.Certificate) -> None:
    """A certificate published only for encryption does not count as a signing one."""
    document = entity_descriptor(
        idp_descriptor(
            signing_key(encryption_cert, use="encryption"),
            sso_service(HTTP_POST_BINDING, POST_URL),
        )
    )
    with pytest.raises(InvalidValueError, match="no signing certificate"):
        parse_metadata(document)


@pytest.mark.parametrize(
    ("cert_text", "reason"),
    [
        ("this is not a certificate!", "neither PEM, DER nor base64"),
        (base64.b64encode(b"\x30\x03garbage").decode(), "could not be parsed"),
    ],
    ids=["not-base64", "not-der"],
)
def test_garbage_certificate_refused(cert_text: str, reason: str) -> None:
    """A ds:X509Certificate that is not base64 of a DER certificate is refused."""
    document = entity_descriptor(
        idp_descriptor(key_descriptor(cert_text), sso_service(HTTP_POST_BINDING, POST_URL))
    )
    with pytest.raises(InvalidValueError, match=reason):
        parse_metadata(document)


def test_non_http_sso_url_in_metadata_refused(signing_cert: x509.Certificate) -> None:
    """A SingleSignOnService Location that is not an http(s) URL is refused."""
    with pytest.raises(InvalidValueError, match="not an absolute http"):
        parse_metadata(idp_metadata(signing_cert, location="ftp://idp.example.com/sso"))


# --- build_settings -----------------------------------------------------------------

CERTIFICATE_ENCODINGS: dict[str, Callable[[x509.Certificate], bytes | str]] = {
    "pem-text": pem,
    "pem-bytes": lambda cert: cert.public_bytes(Encoding.PEM),
    "pem-with-surrounding-whitespace": lambda cert: f"\n  {pem(cert)}\n",
    "der-bytes": lambda cert: cert.public_bytes(Encoding.DER),
    "base64-text": lambda cert: base64.b64encode(cert.public_bytes(Encoding.DER)).decode(),
    "base64-text-wrapped": lambda cert: wrapped_base64(cert.public_bytes(Encoding.DER)),
    "base64-bytes": lambda cert: base64.b64encode(cert.public_bytes(Encoding.DER)),
}


@pytest.mark.parametrize("encoding", list(CERTIFICATE_ENCODINGS))
def test_build_settings_normalizes_certificate_to_pem(
    signing_cert: x509.Certificate, encoding: str
) -> None:
    """PEM, DER bytes and bare base64 DER certificates are all stored as the same PEM."""
    certificate = CERTIFICATE_ENCODINGS[encoding](signing_cert)
    settings = build_settings(ENTITY_ID, REDIRECT_URL, certificate)
    assert settings.certificate_pem == pem(signing_cert)


def test_build_settings_keeps_der_ending_in_whitespace_bytes() -> None:
    """DER bytes are not stripped, even when the signature ends in a whitespace byte."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Whitespace tail")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2025, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2035, 1, 1, tzinfo=UTC))
    )
    # ECDSA signatures are randomized: re-sign until the last DER byte is whitespace.
    ders = (builder.sign(key, hashes.SHA256()).public_bytes(Encoding.DER) for _ in range(5000))
    der = next(der for der in ders if der[-1:].isspace())
    settings = build_settings(ENTITY_ID, REDIRECT_URL, der)
    assert (
        x509.load_pem_x509_certificate(settings.certificate_pem.encode()).public_bytes(Encoding.DER)
        == der
    )


def test_build_settings_strips_entity_id_and_url(signing_cert: x509.Certificate) -> None:
    """Surrounding whitespace is removed from the entity ID and the SSO URL."""
    settings = build_settings(f"  {ENTITY_ID}\n", f" {REDIRECT_URL} ", pem(signing_cert))
    assert (settings.entity_id, settings.sso_url) == (ENTITY_ID, REDIRECT_URL)


@pytest.mark.parametrize("certificate", ["", "   ", b""], ids=["empty", "blank", "empty-bytes"])
def test_build_settings_refuses_empty_certificate(certificate: bytes | str) -> None:
    """An empty certificate is refused."""
    with pytest.raises(InvalidValueError, match="certificate is empty"):
        build_settings(ENTITY_ID, REDIRECT_URL, certificate)


@pytest.mark.parametrize(
    "certificate",
    [
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
        b"\x30\x82\x01\x00truncated",
        "%%% garbage %%%",
    ],
    ids=["bad-pem", "bad-der", "bad-base64"],
)
def test_build_settings_refuses_garbage_certificate(certificate: bytes | str) -> None:
    """A certificate that cryptography cannot parse is refused."""
    with pytest.raises(InvalidValueError, match="signing certificate could not be parsed"):
        build_settings(ENTITY_ID, REDIRECT_URL, certificate)


@pytest.mark.parametrize("entity_id", ["", "   \n", "x" * 1001], ids=["empty", "blank", "long"])
def test_build_settings_refuses_bad_entity_id(
    signing_cert: x509.Certificate, entity_id: str
) -> None:
    """An empty entity ID or one longer than 1000 characters is refused."""
    with pytest.raises(InvalidValueError, match="entity ID"):
        build_settings(entity_id, REDIRECT_URL, pem(signing_cert))


@pytest.mark.parametrize(
    "sso_url",
    [
        "",
        "ftp://idp.example.com/sso",
        "javascript:alert(1)",
        "/saml/sso",
        "idp.example.com/sso",
        "https://",
        "https:///sso",
        "https://idp.example.com:99999/sso",
        "https://idp.example.com:0/sso",
        "https://[::1/sso",
        "https://idp example.com/sso",
        "https://idp.example.com/\x00sso",
        "https://idp.example.com/" + "a" * 2000,
    ],
)
def test_build_settings_refuses_bad_sso_url(signing_cert: x509.Certificate, sso_url: str) -> None:
    """An SSO URL that is not an absolute http(s) URL with a host, or too long, is refused."""
    with pytest.raises(InvalidValueError, match="SSO URL"):
        build_settings(ENTITY_ID, sso_url, pem(signing_cert))


@pytest.mark.parametrize(
    "sso_url", ["http://localhost:8080/sso", "HTTPS://IdP.Example.com/sso?tenant=1"]
)
def test_build_settings_accepts_http_and_https(
    signing_cert: x509.Certificate, sso_url: str
) -> None:
    """Absolute http and https URLs, in any case, are kept as given."""
    assert build_settings(ENTITY_ID, sso_url, pem(signing_cert)).sso_url == sso_url


def test_settings_are_frozen(signing_cert: x509.Certificate) -> None:
    """SsoSettings cannot be changed after it was checked."""
    settings = build_settings(ENTITY_ID, REDIRECT_URL, pem(signing_cert))
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.sso_url = "ftp://idp.example.com"  # type: ignore[misc]


# --- describe_certificate -----------------------------------------------------------


def test_describe_certificate(signing_cert: x509.Certificate) -> None:
    """The description gives the subject, UTC expiry and colon-separated SHA-256."""
    description = describe_certificate(pem(signing_cert))
    assert description == {
        "subject": "CN=Test IdP signing",
        "not_valid_after": signing_cert.not_valid_after_utc.isoformat(),
        "sha256_fingerprint": signing_cert.fingerprint(hashes.SHA256()).hex(":").upper(),
    }
    assert datetime.fromisoformat(description["not_valid_after"]).utcoffset() == timedelta(0)
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", description["sha256_fingerprint"])


def test_describe_certificate_refuses_garbage() -> None:
    """Describing text that is not a certificate raises InvalidValueError."""
    with pytest.raises(InvalidValueError, match="could not be parsed"):
        describe_certificate("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")


# --- demo_settings ------------------------------------------------------------------


def test_demo_settings_round_trip_through_build_settings() -> None:
    """Demo settings pass build_settings unchanged and name the organization."""
    settings = demo_settings("Acme Corp")
    assert build_settings(settings.entity_id, settings.sso_url, settings.certificate_pem) == (
        settings
    )
    assert settings.entity_id == "https://idp.example.invalid/acme-corp"
    assert settings.sso_url == "https://idp.example.invalid/acme-corp/sso"
    assert describe_certificate(settings.certificate_pem)["subject"] == (
        "CN=scimgate demo IdP for Acme Corp"
    )


def test_demo_certificate_is_p256_valid_ten_years() -> None:
    """The demo certificate has an EC P-256 key and is valid for ten years from now."""
    cert = x509.load_pem_x509_certificate(demo_settings("Acme").certificate_pem.encode())
    public_key = cert.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert public_key.curve.name == "secp256r1"
    assert cert.not_valid_before_utc <= datetime.now(UTC)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc >= timedelta(days=3650)


def test_demo_settings_generate_a_fresh_certificate_each_time() -> None:
    """Two demo configurations never share a certificate."""
    assert demo_settings("Acme").certificate_pem != demo_settings("Acme").certificate_pem


@pytest.mark.parametrize(
    ("org_name", "slug"),
    [
        ("Café Zürich & Co.", "cafe-zurich-co"),
        ("  ACME__Corp  ", "acme-corp"),
        ("株式会社", "demo"),
        ("株" * 30, "demo"),
        ("x" * 200, "x" * 63),
    ],
)
def test_demo_settings_slug_is_url_safe(org_name: str, slug: str) -> None:
    """The organization name becomes a lowercase ASCII slug in the demo URLs."""
    settings = demo_settings(org_name)
    assert settings.entity_id == f"https://idp.example.invalid/{slug}"
    assert settings.sso_url == f"https://idp.example.invalid/{slug}/sso"
