"""An organization's SAML 2.0 identity provider: parsed, checked and normalized.

An administrator configures the IdP either by uploading its metadata document (OASIS
"Metadata for the OASIS Security Assertion Markup Language (SAML) V2.0", cited below
as "Metadata §") or by entering the entity ID, single sign-on URL and signing
certificate by hand. Both paths run the same checks and yield an :class:`SsoSettings`
whose certificate is always PEM, ready to store as an ``SsoConnection``.

Metadata is parsed with ``defusedxml`` and DTDs are refused outright: IdP metadata never
needs one, and refusing them closes entity expansion and external entity attacks.
"""

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

# Only the Element type comes from the standard library; parsing goes through defusedxml.
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeElementTree
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from scimgate.errors import InvalidValueError

MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
SAML2_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
HTTP_REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
HTTP_POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
# The lengths of the sso_connections columns.
MAX_ENTITY_ID_LENGTH = 1000
MAX_SSO_URL_LENGTH = 2000
DEMO_IDP_BASE_URL = "https://idp.example.invalid"

_NS = {"md": MD_NS, "ds": DS_NS}
_ENTITY_DESCRIPTOR = f"{{{MD_NS}}}EntityDescriptor"
_ENTITIES_DESCRIPTOR = f"{{{MD_NS}}}EntitiesDescriptor"
# SAML Bindings §3.4 (HTTP-Redirect) is the usual way an SP sends an AuthnRequest;
# HTTP-POST (§3.5) is the common alternative. Any other binding is a last resort.
_BINDING_PREFERENCE = (HTTP_REDIRECT_BINDING, HTTP_POST_BINDING)
_PEM_MARKER = b"-----BEGIN"
# Every DER certificate is an ASN.1 SEQUENCE, whose tag byte is 0x30.
_DER_SEQUENCE_TAG = b"\x30"
# X.520 ub-common-name: cryptography rejects a longer commonName (counted in UTF-8).
_MAX_COMMON_NAME_BYTES = 64
# Ten years, counting the leap days they contain.
_DEMO_VALIDITY = timedelta(days=3652)
# Keeps demo entity IDs and URLs short enough to read.
_MAX_SLUG_LENGTH = 63


@dataclass(frozen=True)
class SsoSettings:
    """A checked IdP configuration; ``certificate_pem`` is always PEM."""

    entity_id: str
    sso_url: str
    certificate_pem: str


def parse_metadata(xml: bytes | str) -> SsoSettings:
    """Read settings from SAML 2.0 IdP metadata; raise InvalidValueError if unusable."""
    root = _parse_xml(xml)
    entity, idp = _find_idp(root)
    entity_id = entity.get("entityID")
    if entity_id is None:
        raise InvalidValueError("The IdP metadata's EntityDescriptor has no entityID attribute")
    return build_settings(entity_id, _sso_location(idp), _signing_certificate(idp))


def build_settings(entity_id: str, sso_url: str, certificate: bytes | str) -> SsoSettings:
    """Check hand-entered settings (PEM, DER or base64 DER certificate); raise if unusable."""
    return SsoSettings(
        entity_id=_check_entity_id(entity_id),
        sso_url=_check_sso_url(sso_url),
        certificate_pem=_load_certificate(certificate).public_bytes(Encoding.PEM).decode("ascii"),
    )


def describe_certificate(certificate_pem: str) -> dict[str, str]:
    """Summarize a certificate for display; raise InvalidValueError if it does not parse."""
    cert = _load_certificate(certificate_pem)
    return {
        "subject": cert.subject.rfc4514_string(),
        "not_valid_after": cert.not_valid_after_utc.isoformat(),
        "sha256_fingerprint": cert.fingerprint(hashes.SHA256()).hex(":").upper(),
    }


def demo_settings(org_name: str) -> SsoSettings:
    """Build demo settings with a fresh self-signed certificate, for demo mode only."""
    base_url = f"{DEMO_IDP_BASE_URL}/{_slug(org_name)}"
    certificate_pem = _self_signed_pem(f"scimgate demo IdP for {org_name.strip()}")
    return build_settings(base_url, f"{base_url}/sso", certificate_pem)


def _parse_xml(xml: bytes | str) -> Element:
    try:
        root: Element = SafeElementTree.fromstring(xml, forbid_dtd=True)
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
        raise InvalidValueError(
            "The metadata contains a DTD or entity declaration, which is refused"
        ) from exc
    except SafeElementTree.ParseError as exc:
        raise InvalidValueError(f"The metadata is not well-formed XML: {exc}") from exc
    return root


def _find_idp(root: Element) -> tuple[Element, Element]:
    # Metadata §2.3: the document element is one EntityDescriptor, or an
    # EntitiesDescriptor grouping them (and possibly further EntitiesDescriptors).
    if root.tag == _ENTITY_DESCRIPTOR:
        entities = [root]
    elif root.tag == _ENTITIES_DESCRIPTOR:
        entities = list(root.iter(_ENTITY_DESCRIPTOR))
    else:
        raise InvalidValueError(
            f"The metadata's root element is {root.tag!r}, not an md:EntityDescriptor "
            "or md:EntitiesDescriptor; upload the identity provider's SAML 2.0 metadata"
        )
    for entity in entities:
        idp = _idp_descriptor(entity)
        if idp is not None:
            return entity, idp
    raise InvalidValueError(
        "The IdP metadata has no IDPSSODescriptor; upload the identity provider's "
        "metadata, not a service provider's"
    )


def _idp_descriptor(entity: Element) -> Element | None:
    # Metadata §2.4.1: a role lists its protocols in protocolSupportEnumeration. An
    # entity may publish a SAML 1.x IdP role beside the SAML 2.0 one; prefer the latter.
    descriptors = entity.findall("md:IDPSSODescriptor", _NS)
    for descriptor in descriptors:
        if SAML2_PROTOCOL in descriptor.get("protocolSupportEnumeration", "").split():
            return descriptor
    return descriptors[0] if descriptors else None


def _sso_location(idp: Element) -> str:
    # Metadata §2.4.3 / §2.2.2: each SingleSignOnService is an endpoint with a
    # Binding and a Location; the first one per binding wins.
    locations: dict[str, str] = {}
    for service in idp.findall("md:SingleSignOnService", _NS):
        location = service.get("Location", "").strip()
        if location:
            locations.setdefault(service.get("Binding", ""), location)
    for binding in _BINDING_PREFERENCE:
        if binding in locations:
            return locations[binding]
    if locations:
        return next(iter(locations.values()))
    raise InvalidValueError("The IdP metadata has no IDPSSODescriptor with a SingleSignOnService")


def _signing_certificate(idp: Element) -> str:
    # Metadata §2.4.1.1: a KeyDescriptor without "use" serves signing and encryption.
    for key in idp.findall("md:KeyDescriptor", _NS):
        if key.get("use", "signing") != "signing":
            continue
        cert = key.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _NS)
        if cert is not None and cert.text and cert.text.strip():
            return cert.text
    raise InvalidValueError(
        "The IdP metadata has no signing certificate: expected an md:KeyDescriptor with "
        'use="signing" (or no use) holding ds:KeyInfo/ds:X509Data/ds:X509Certificate'
    )


def _load_certificate(certificate: bytes | str) -> x509.Certificate:
    is_der = isinstance(certificate, bytes) and certificate.startswith(_DER_SEQUENCE_TAG)
    data = certificate.encode() if isinstance(certificate, str) else certificate
    if not is_der:
        # Only text may be stripped: DER may legitimately end in whitespace bytes.
        data = data.strip()
    if not data:
        raise InvalidValueError("The signing certificate is empty")
    try:
        if is_der:
            cert = x509.load_der_x509_certificate(data)
        elif _PEM_MARKER in data:
            cert = x509.load_pem_x509_certificate(data)
        else:
            cert = x509.load_der_x509_certificate(_decode_base64(data))
        # Fails for a key type cryptography cannot use to verify signatures.
        cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidValueError(f"The signing certificate could not be parsed: {exc}") from exc
    return cert


def _decode_base64(text: bytes) -> bytes:
    # ds:X509Certificate content and pasted certificates are wrapped at any width.
    try:
        return base64.b64decode(b"".join(text.split()), validate=True)
    except binascii.Error as exc:
        raise InvalidValueError(
            "The signing certificate could not be parsed: it is neither PEM, DER "
            "nor base64-encoded DER"
        ) from exc


def _check_entity_id(entity_id: str) -> str:
    value = entity_id.strip()
    if not value:
        raise InvalidValueError(
            "The IdP entity ID is empty; copy it from the identity provider's SAML settings"
        )
    if len(value) > MAX_ENTITY_ID_LENGTH:
        raise InvalidValueError(
            f"The IdP entity ID is {len(value)} characters long; "
            f"at most {MAX_ENTITY_ID_LENGTH} are accepted"
        )
    return value


def _check_sso_url(sso_url: str) -> str:
    value = sso_url.strip()
    if len(value) > MAX_SSO_URL_LENGTH:
        raise InvalidValueError(
            f"The IdP SSO URL is {len(value)} characters long; "
            f"at most {MAX_SSO_URL_LENGTH} are accepted"
        )
    if not value.isprintable() or any(char.isspace() for char in value):
        raise InvalidValueError("The IdP SSO URL contains spaces or control characters")
    try:
        parts = urlsplit(value)
        # Raises ValueError for a port that is not a number from 0 to 65535.
        port = parts.port
    except ValueError as exc:
        raise InvalidValueError(f"The IdP SSO URL {value!r} is not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or port == 0:
        raise InvalidValueError(
            f"The IdP SSO URL {value!r} is not an absolute http:// or https:// URL with a host"
        )
    return value


def _slug(name: str) -> str:
    # NFKD splits "é" into "e" plus an accent, so accented letters keep their base letter.
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:_MAX_SLUG_LENGTH].rstrip("-") or "demo"


def _self_signed_pem(common_name: str) -> str:
    truncated = common_name.encode()[:_MAX_COMMON_NAME_BYTES].decode(errors="ignore")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, truncated)])
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _DEMO_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.PEM).decode("ascii")
