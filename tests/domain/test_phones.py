"""Tests of phone number normalization on import."""

import pytest

from scimgate.domain.phones import PhoneImport, normalize_phone_numbers


@pytest.mark.parametrize("value", ["(415) 555-2671", "415.555.2671", "1-415-555-2671"])
def test_us_national_formats(value: str) -> None:
    """US numbers written nationally are read with the default US country code."""
    assert normalize_phone_numbers([value]) == PhoneImport(numbers=["+14155552671"], warnings=[])


def test_plus_prefix_keeps_its_own_country() -> None:
    """A leading "+" overrides the default region."""
    assert normalize_phone_numbers(["+44 20 7946 0958"]).numbers == ["+442079460958"]


def test_double_zero_prefix_keeps_its_own_country() -> None:
    """A leading "00" is the international prefix even when the default region is the US."""
    result = normalize_phone_numbers(["0044 20 7946 0958"])
    assert result == PhoneImport(numbers=["+442079460958"], warnings=[])


def test_french_number() -> None:
    """A French number with its +33 prefix is kept in E.164."""
    assert normalize_phone_numbers(["+33 1 42 68 53 00"]).numbers == ["+33142685300"]


def test_invalid_values_are_skipped_with_warnings() -> None:
    """Unparseable and invalid numbers are skipped, each warned about by its index."""
    result = normalize_phone_numbers(["12", "(415) 555-2671", "not a number", "+1 555 0000"])
    assert result.numbers == ["+14155552671"]
    assert result.warnings == [
        "phoneNumbers[0]: '12' is not a valid phone number; skipped",
        "phoneNumbers[2]: 'not a number' is not a valid phone number; skipped",
        "phoneNumbers[3]: '+1 555 0000' is not a valid phone number; skipped",
    ]


def test_long_invalid_value_is_truncated_in_warning() -> None:
    """A rejected value is quoted back cut to 50 characters."""
    result = normalize_phone_numbers(["x" * 200])
    assert result.numbers == []
    assert result.warnings == [
        f"phoneNumbers[0]: '{'x' * 49}…' is not a valid phone number; skipped"
    ]


def test_empty_values_are_skipped_silently() -> None:
    """None, empty and blank values produce neither a number nor a warning."""
    result = normalize_phone_numbers([None, "", "   ", "415-555-2671"])
    assert result == PhoneImport(numbers=["+14155552671"], warnings=[])


def test_duplicates_appear_once_in_input_order() -> None:
    """Numbers equal after normalization are kept once, at their first position."""
    result = normalize_phone_numbers(
        ["+44 20 7946 0958", "(415) 555-2671", "0044 20 7946 0958", "+1 415 555 2671"]
    )
    assert result.numbers == ["+442079460958", "+14155552671"]
    assert result.warnings == []


@pytest.mark.parametrize("value", ["(415) 555-2671 x123", "+1 415 555 2671;ext=9"])
def test_extension_is_dropped(value: str) -> None:
    """E.164 has no extension, so it is left out."""
    assert normalize_phone_numbers([value]).numbers == ["+14155552671"]


def test_default_region_override() -> None:
    """A national number is read in the given default region instead of the US."""
    assert normalize_phone_numbers(["020 7946 0958"], default_region="GB").numbers == [
        "+442079460958"
    ]
    # The same digits are not a valid US number.
    assert normalize_phone_numbers(["020 7946 0958"]).numbers == []


def test_non_string_value_is_skipped_with_warning() -> None:
    """A non-string value (e.g. a JSON number) is warned about rather than raising."""
    result = normalize_phone_numbers([4155552671])  # type: ignore[list-item]
    assert result.numbers == []
    assert result.warnings == ["phoneNumbers[0]: 4155552671 is not a string; skipped"]


def test_empty_input() -> None:
    """No values give no numbers and no warnings."""
    assert normalize_phone_numbers([]) == PhoneImport(numbers=[], warnings=[])
