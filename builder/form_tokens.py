"""The signed render timestamp every form carries.

A page renders each form with a token that signs the form's id and the time; a submission must bring
it back, no sooner than FORM_MIN_SUBMIT_SECONDS later (a person reads and types; a bot posts at
once) and no later than FORM_TOKEN_MAX_AGE (a page cached for long gets its token refreshed).
"""

import time

from django.conf import settings
from django.core import signing

_SALT = "builder.form-token"


class FormTokenError(ValueError):
    pass


def form_token(component_id) -> str:
    return signing.TimestampSigner(salt=_SALT).sign(str(component_id))


def form_token_age(token: str, component_id) -> float:
    """Seconds since the form was rendered; FormTokenError for a token that is forged, expired or
    was minted for another form."""
    signer = signing.TimestampSigner(salt=_SALT)
    try:
        value = signer.unsign(token, max_age=settings.FORM_TOKEN_MAX_AGE)
        # unsign() checked the signature over the timestamp; read it back for the minimum-age rule.
        signed_at = signing.b62_decode(token.rsplit(signer.sep, 2)[1])
    except signing.SignatureExpired:
        raise FormTokenError("The form has expired; reload the page and try again.") from None
    except (signing.BadSignature, TypeError, ValueError):
        raise FormTokenError("The form's security token is missing or invalid; reload the page.") from None
    if value != str(component_id):
        raise FormTokenError("The security token belongs to another form; reload the page.")
    return max(time.time() - signed_at, 0.0)
