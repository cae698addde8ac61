"""Phone numbers on import: parsed, checked and normalized to E.164.

The product rule is "Auto-verified on import; normalized with US as default country code —
include a country code prefix for non-US numbers". A number written without an international
prefix is read as a number of ``default_region`` (US unless told otherwise); one written with a
leading ``+`` or ``00`` keeps its own country. Parsing and validation are Google's
libphonenumber rules (the ``phonenumbers`` port), so a number is kept only if it is a real,
assignable number for its country, not merely a plausible run of digits.

Import never fails because of a bad phone number: the value is skipped and a warning says
which one and why, so one typo does not block provisioning the rest of the user.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers

# Longest slice of a rejected value quoted back in a warning, so a huge or hostile input
# cannot flood the import report or the logs.
_MAX_SHOWN = 50


@dataclass(frozen=True)
class PhoneImport:
    """The outcome of normalizing a list of phone numbers."""

    numbers: list[str]
    """E.164 numbers, de-duplicated, in input order."""
    warnings: list[str]
    """One human-readable line per skipped value, naming its index and the value."""


def normalize_phone_numbers(
    values: Sequence[str | None], default_region: str = "US"
) -> PhoneImport:
    """Normalize phone numbers to E.164, skipping (with a warning) any that are not valid."""
    region = default_region.upper()
    numbers: list[str] = []
    seen: set[str] = set()
    warnings: list[str] = []
    for index, value in enumerate(values):
        if value is None:
            continue
        if not isinstance(value, str):
            # Values often come straight from JSON, where a number may arrive as an int; the
            # caller's types cannot promise otherwise, and import must not raise.
            warnings.append(_warning(index, repr(value), "is not a string"))
            continue
        text = value.strip()
        if not text:
            # An empty attribute is how clients say "no number"; nothing to warn about.
            continue
        if text.startswith("00"):
            # "00" is the international prefix almost everywhere, but libphonenumber only
            # honours the *default region's* own prefix (011 for the US), so "0044 …" would be
            # read as a US national number. No country's national numbers start with "00".
            text = "+" + text[2:]
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            warnings.append(_warning(index, _shown(value), "is not a valid phone number"))
            continue
        # is_valid_number rather than is_possible_number: the latter only checks the length,
        # which would let through numbers no carrier can ever assign (e.g. +1 555 0000).
        if not phonenumbers.is_valid_number(parsed):
            warnings.append(_warning(index, _shown(value), "is not a valid phone number"))
            continue
        # E.164 has no room for an extension ("x123", ";ext=9"), so it is dropped: the number
        # still reaches the right switchboard.
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if e164 not in seen:
            seen.add(e164)
            numbers.append(e164)
    return PhoneImport(numbers=numbers, warnings=warnings)


def _shown(value: str) -> str:
    """Quote a value for a warning, cut to at most ``_MAX_SHOWN`` characters."""
    if len(value) > _MAX_SHOWN:
        value = value[: _MAX_SHOWN - 1] + "…"
    # repr() quotes the value and escapes control characters, so it is safe in a log line.
    return repr(value)


def _warning(index: int, shown: str, reason: str) -> str:
    """Format the warning for a skipped value."""
    return f"phoneNumbers[{index}]: {shown} {reason}; skipped"
