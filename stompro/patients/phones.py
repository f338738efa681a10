"""Phone numbers in any common format → E.164."""
from functools import lru_cache

import phonenumbers
from flask_babel import lazy_gettext as _l

from ..errors import DomainError


def normalize_phone(raw, region="RU"):
    """Return ``raw`` as E.164 (+79161234567) or raise DomainError."""
    if raw is None or not str(raw).strip():
        raise DomainError(_l("A phone number is required."), field="phone")
    text = str(raw).strip()
    if text.startswith("8") and len(phonenumbers.normalize_digits_only(text)) == 11:
        text = "+7" + phonenumbers.normalize_digits_only(text)[1:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise DomainError(_l("“%(phone)s” is not a phone number.", phone=text), field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_search_digits(term):
    """The digits a typed phone fragment has in E.164 (8 916 … → 7916 …), or None."""
    digits = phonenumbers.normalize_digits_only(term or "")
    if len(digits) < 5:
        return None
    if len(digits) == 11 and digits[0] == "8":
        return "7" + digits[1:]
    return digits


@lru_cache(maxsize=4096)
def format_phone(e164):
    """+79161234567 → +7 916 123-45-67, for reading (remembered: a board
    shows the same patients' phones at every refresh)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
