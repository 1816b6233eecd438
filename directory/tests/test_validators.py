import pytest

from django.core.exceptions import ValidationError

from directory.validators import (
    validate_external_id,
    validate_mac_address,
    validate_sid,
    validate_single_line_text,
    validate_text,
    validate_upn,
)


@pytest.mark.parametrize(
    "value",
    [
        "S-1-5-21-1004336348-1177238915-682003330-512",
        "S-1-5-18",
        "S-1-0x000000000005-32-544",
        "S-1-12-1-4294967295-1-2-3",
    ],
)
def test_sid_accepts_string_form(value):
    validate_sid(value)


@pytest.mark.parametrize(
    "value",
    [
        "S-1-5",  # no sub-authority
        "S-2-5-21-1",  # revision 2
        "s-1-5-18",  # lower-case prefix
        "S-1-5-21-4294967296",  # sub-authority over 32 bits
        "S-1-281474976710656-1",  # authority over 48 bits
        "S-1-5-21-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",  # 16 sub-authorities
        "S-1-5-18 ",
        "jane@corp.example.com",
    ],
)
def test_sid_refuses(value):
    with pytest.raises(ValidationError) as exc_info:
        validate_sid(value)
    assert exc_info.value.code == "invalid_sid"


@pytest.mark.parametrize(
    "value", ["00:11:22:AA:BB:cc", "00-11-22-aa-bb-cc", "001122AABBCC", "0011.22aa.bbcc"]
)
def test_mac_accepts_common_spellings(value):
    validate_mac_address(value)


@pytest.mark.parametrize(
    "value", ["00:11:22:AA:BB", "00:11-22:AA:BB:CC", "00:11:22:AA:BB:CG", "001122AABBCC00", "0011.22aa.bbc"]
)
def test_mac_refuses(value):
    with pytest.raises(ValidationError) as exc_info:
        validate_mac_address(value)
    assert exc_info.value.code == "invalid_mac_address"


@pytest.mark.parametrize("value", ["jane@corp.example.com", "j.doe+x@sub.corp.example"])
def test_upns_are_accepted(value):
    validate_upn(value)


@pytest.mark.parametrize("value", ["", "jane", "@corp", "jane@", "a@b@c", "jane doe@corp", "jane@corp\n"])
def test_malformed_upns_are_refused(value):
    with pytest.raises(ValidationError, match="user principal name"):
        validate_upn(value)


NOT_TEXT = [
    ("a\x00b", "U+0000 at position 2: it is a control character"),
    ("\x1b[31m", "U+001B at position 1: it is a control character"),
    ("del\x7f", "U+007F at position 4: it is a control character"),
    ("c1\x85", "U+0085 at position 3: it is a control character"),
    ("a\ud800", "U+D800 at position 2: it is half of a UTF-16 surrogate pair"),
    ("\udfff", "U+DFFF at position 1: it is half of a UTF-16 surrogate pair"),
    ("jd\uffffoe", "U+FFFF at position 3: it is a Unicode noncharacter"),
    ("\ufffe", "U+FFFE at position 1: it is a Unicode noncharacter"),
    ("x\ufdd0", "U+FDD0 at position 2: it is a Unicode noncharacter"),
    ("x\U0001ffff", "U+1FFFF at position 2: it is a Unicode noncharacter"),
    ("x\U0010fffe", "U+10FFFE at position 2: it is a Unicode noncharacter"),
]


@pytest.mark.parametrize(("value", "message"), NOT_TEXT)
def test_what_is_not_text_is_refused_everywhere(value, message):
    for validator in (validate_single_line_text, validate_text, validate_external_id):
        with pytest.raises(ValidationError) as exc_info:
            validator(value)
        assert exc_info.value.code == "invalid_characters"
        assert message in exc_info.value.messages[0]


@pytest.mark.parametrize("value", ["line\nbreak", "a\rb", "tab\there", "a\u2028b", "a\u2029b"])
def test_line_breaks_are_refused_in_single_line_text_and_external_ids(value):
    validate_text(value)
    for validator in (validate_single_line_text, validate_external_id):
        with pytest.raises(ValidationError, match="at position"):
            validator(value)


@pytest.mark.parametrize(
    "value",
    [
        "Zoë O'Brien-Łukasz",
        'say "hi" <b>&amp;</b>',
        "東京 \U0001f600",
        "\ufffd",
        "\ue000 private use",
        "S-1-5-18",
    ],
)
def test_text_with_any_other_character_is_accepted(value):
    for validator in (validate_single_line_text, validate_text, validate_external_id):
        validator(value)
