"""Cleaning what is written to a contact: emails, phone numbers and custom field values.

Each cleaner raises Django's ValidationError naming the field, so the API answers 400 with the path
and an import reports the row's reason in the same words.
"""

import datetime
from decimal import Decimal, InvalidOperation

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from crm.models import Contact, CustomField, CustomFieldType

EMAIL_MAX = Contact._meta.get_field("email").max_length
TEXT_MAX = 1000
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def email_normalize(value: str) -> str:
    """Trimmed and lower-cased: one contact per address whatever the case or stray spaces."""
    email = str(value or "").strip().lower()
    if not email:
        raise ValidationError({"email": ["An email address is required."]})
    if len(email) > EMAIL_MAX:
        raise ValidationError({"email": [f"An email address has at most {EMAIL_MAX} characters."]})
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": [f"{value!r} is not a valid email address."]}) from None
    return email


def phone_normalize(value: str, *, region: str | None = None) -> str:
    """E.164, e.g. +14155550123; blank stays blank."""
    text = str(value or "").strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError({"phone": [f"{text!r} is not a valid phone number."]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _custom_value(field: CustomField, value):
    """One value converted to its stored JSON form, or ValueError with the reason."""
    match field.type:
        case CustomFieldType.TEXT:
            text = str(value).strip()
            if len(text) > TEXT_MAX:
                raise ValueError(f"At most {TEXT_MAX} characters.")
            return text
        case CustomFieldType.NUMBER:
            if isinstance(value, bool):
                raise ValueError("Expected a number.")
            try:
                number = Decimal(str(value).strip().replace(",", ""))
            except InvalidOperation:
                raise ValueError(f"{value!r} is not a number.") from None
            if not number.is_finite():
                raise ValueError(f"{value!r} is not a number.")
            return int(number) if number == number.to_integral_value() else float(number)
        case CustomFieldType.DATE:
            if isinstance(value, datetime.datetime):
                value = value.date()
            if isinstance(value, datetime.date):
                return value.isoformat()
            try:
                return datetime.date.fromisoformat(str(value).strip()).isoformat()
            except ValueError:
                raise ValueError(f"{value!r} is not a date (YYYY-MM-DD).") from None
        case CustomFieldType.BOOLEAN:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(f"{value!r} is not yes or no.")
        case CustomFieldType.SELECT:
            text = str(value).strip()
            for option in field.options:
                if text.lower() == str(option).lower():
                    return option
            raise ValueError(f"{text!r} is not one of: {', '.join(map(str, field.options))}.")
    raise ValueError(f"Unknown field type {field.type!r}.")


#: The plain text fields an upsert or an update may set.
PROFILE_FIELDS = ("first_name", "last_name", "phone", "company")
_MAX_LENGTHS = {name: Contact._meta.get_field(name).max_length for name in PROFILE_FIELDS}


def profile_clean(values: dict, *, keep_empty: bool) -> dict:
    """The profile fields among `values`, spaces collapsed and the phone in E.164. Empty ones are left
    out, or kept as "" (to clear the field) when `keep_empty`."""
    cleaned, errors = {}, {}
    for name in PROFILE_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if is_empty(value):
            if keep_empty:
                cleaned[name] = ""
            continue
        text = " ".join(str(value).split())
        try:
            if name == "phone":
                text = phone_normalize(text)
            elif len(text) > _MAX_LENGTHS[name]:
                raise ValidationError({name: [f"At most {_MAX_LENGTHS[name]} characters."]})
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        cleaned[name] = text
    if errors:
        raise ValidationError(errors)
    return cleaned


def all_or_errors(*cleaners) -> list:
    """Each cleaner's result, or one ValidationError naming every bad field of them all."""
    results, errors = [], {}
    for clean in cleaners:
        try:
            results.append(clean())
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return results


def is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def custom_fields_clean(*, fields: dict[str, CustomField], values: dict, keep_empty: bool = False) -> dict:
    """Values checked against the workspace's definitions (`fields`, by key). Empty values are left
    out, or kept as None (to clear the field) when `keep_empty`. Raises one ValidationError listing
    every bad key by its path, e.g. "custom_fields.plan"."""
    if not isinstance(values, dict):
        raise ValidationError({"custom_fields": ["Expected an object of field key → value."]})
    cleaned, errors = {}, {}
    for key, value in values.items():
        field = fields.get(key)
        if field is None:
            errors[f"custom_fields.{key}"] = ["No such custom field."]
        elif is_empty(value):
            if keep_empty:
                cleaned[key] = None
        else:
            try:
                cleaned[key] = _custom_value(field, value)
            except ValueError as exc:
                errors[f"custom_fields.{key}"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return cleaned


def custom_fields_for(workspace) -> dict[str, CustomField]:
    return {field.key: field for field in CustomField.objects.for_workspace(workspace)}
