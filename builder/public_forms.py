"""Checks on what a visitor posts to a public form: the answers against the form's field definitions,
and the Cloudflare Turnstile challenge.

Anything may arrive here (a bot, a script, a browser with a stale page), so every value is checked
for its type as well as its content, and nothing the form does not define is kept.
"""

import json
import math
import re
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from builder.models import FormSubmission

CONSENT_FIELD = "consent"
TURNSTILE_FIELD = "cf-turnstile-response"

TEXTAREA_MAX = 5000
TEXT_MAX = 500
EMAIL_MAX = FormSubmission._meta.get_field("email").max_length
# Cloudflare documents 2048 characters as a token's maximum.
TURNSTILE_TOKEN_MAX = 2048
TURNSTILE_TIMEOUT_SECONDS = 5

_PHONE_CHARS = re.compile(r"^[0-9 +\-().]+$")
_PHONE_DIGITS = (6, 20)
_FALSE_WORDS = frozenset({"", "0", "false", "off", "no"})
_TRUE_WORDS = frozenset({"1", "true", "on", "yes"})
_CHECKBOX_WORDS = _FALSE_WORDS | _TRUE_WORDS
_validate_email = EmailValidator()

Answers = dict[str, str | bool]


class FormInvalid(Exception):
    """The answers do not fit the form; `errors` maps each field name to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class CleanedSubmission:
    data: Answers
    consent_given: bool


def _text(value: object) -> str:
    """A visitor's value as text; ValueError for what no text input could have sent."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        # JSON clients may send a phone number or a code as a number; objects and lists are garbage.
        raise ValueError("Enter a text value.")
    if isinstance(value, float) and not math.isfinite(value):  # Python's JSON reads NaN and 1e999
        raise ValueError("Enter a text value.")
    text = str(value)
    if "\x00" in text:
        raise ValueError("Null characters are not allowed.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a JSON escape: no database would store it
        raise ValueError("Enter valid text.") from None
    return text.strip()


def _checked(value: object) -> bool:
    """A browser sends "on" for a ticked box and nothing for an unticked one; scripts send booleans."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _CHECKBOX_WORDS:
        return value.strip().lower() in _TRUE_WORDS
    raise ValueError("Must be checked or unchecked.")


def _clean_text(kind: str, value: str, options: list[str]) -> str:
    if kind == "textarea":
        limit = TEXTAREA_MAX
    elif kind == "email":
        limit = EMAIL_MAX
    else:
        limit = TEXT_MAX
    if len(value) > limit:
        raise ValueError(f"Ensure this value has at most {limit} characters (it has {len(value)}).")
    if kind == "email":
        try:
            _validate_email(value)
        except ValidationError:
            raise ValueError("Enter a valid email address.") from None
    elif kind == "phone":
        digits = sum(char.isdigit() for char in value)
        if not _PHONE_CHARS.match(value) or not _PHONE_DIGITS[0] <= digits <= _PHONE_DIGITS[1]:
            raise ValueError("Enter a valid phone number.")
    elif kind == "select" and value not in options:
        raise ValueError("Select one of the offered options.")
    return value


def clean_submission(config: Mapping, raw: Mapping[str, object]) -> CleanedSubmission:
    """The answers to keep, one per defined field: text stripped, checkboxes as booleans, hidden
    fields with their configured value whatever was sent. FormInvalid names every field at fault."""
    data: Answers = {}
    errors: dict[str, list[str]] = {}
    for field in config.get("fields", []):
        name, kind = field["name"], field.get("kind", "text")
        if kind == "hidden":
            # The marketer's value (a campaign, a source) — a visitor must not be able to rewrite it.
            data[name] = field.get("value", "")
            continue
        value = raw.get(name)
        try:
            if kind == "checkbox":
                data[name] = _checked(value)
                if field.get("required") and not data[name]:
                    raise ValueError("This box must be ticked.")
                continue
            text = "" if value is None else _text(value)
            if not text:
                if field.get("required"):
                    raise ValueError("This field is required.")
                data[name] = ""
                continue
            data[name] = _clean_text(kind, text, field.get("options", []))
        except ValueError as exc:
            errors[name] = [str(exc)]

    consent = config.get("consent") or {}
    consent_given = False
    if consent.get("enabled"):
        try:
            consent_given = _checked(raw.get(CONSENT_FIELD))
        except ValueError as exc:
            errors[CONSENT_FIELD] = [str(exc)]
        else:
            if consent.get("required", True) and not consent_given:
                errors[CONSENT_FIELD] = ["You must give your consent to send this form."]
    if errors:
        raise FormInvalid(errors)
    return CleanedSubmission(data=data, consent_given=consent_given)


# --- Turnstile -------------------------------------------------------------------------------------


class TurnstileUnavailable(Exception):
    """Cloudflare did not answer, or answered with something that is not a verdict."""


def verify_turnstile(*, secret: str, response: str, remoteip: str | None) -> bool:
    """Whether Cloudflare accepts this challenge response; TurnstileUnavailable when it cannot say."""
    fields = {"secret": secret, "response": response}
    if remoteip:
        fields["remoteip"] = remoteip
    request = urllib.request.Request(  # noqa: S310 — the URL is a setting, not visitor input
        settings.TURNSTILE_VERIFY_URL,
        data=urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TURNSTILE_TIMEOUT_SECONDS) as reply:  # noqa: S310
            verdict = json.load(reply)
    except (OSError, ValueError) as exc:  # refused, timed out, an HTTP error status, or not JSON
        raise TurnstileUnavailable(str(exc)) from exc
    if not isinstance(verdict, dict) or "success" not in verdict:
        raise TurnstileUnavailable(f"Unexpected answer: {verdict!r:.200}")
    return verdict["success"] is True
