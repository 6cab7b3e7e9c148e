"""The public addresses an email carries: its open pixel, tracked links and unsubscribe link.

Each message has one token (`EmailSend.token`), the only thing these URLs reveal. A tracked link also
carries its destination, signed with a key bound to that token, so `/t/c/<token>` redirects only to a
URL that was in that very email: a changed destination, or one moved to another message's token, fails
the signature and is a 404, never an open redirect.
"""

import html
import re
import secrets
from collections.abc import Callable
from urllib.parse import quote

from django.conf import settings
from django.core import signing

CLICK_SALT = "campaigns.tracking.click"
#: The query parameter of a tracked link holding the signed destination.
CLICK_PARAM = "u"
_TRACKABLE = re.compile(r"^https?://", re.IGNORECASE)
# An <a …> start tag's href, quoted either way; emails are made by our own compiler, so the markup is regular.
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def new_send_token() -> str:
    """128 random bits as 32 hex digits: unguessable, and safe in an address's local part
    (`unsubscribe+<token>@…`), where some mail systems lowercase what they pass on."""
    return secrets.token_hex(16)


def _public(path: str) -> str:
    return f"{settings.EMAIL_PUBLIC_URL}{path}"


def open_pixel_url(token: str) -> str:
    return _public(f"/t/o/{token}.gif")


def _click_signer(token: str) -> signing.Signer:
    return signing.Signer(salt=f"{CLICK_SALT}:{token}")


def _click_urls(token: str) -> Callable[[str], str]:
    """Makes a message's tracked links, its signer and address prefix built once for all of them."""
    signer, prefix = _click_signer(token), _public(f"/t/c/{token}?{CLICK_PARAM}=")
    return lambda url: prefix + quote(signer.sign(url), safe="")


def click_url(token: str, url: str) -> str:
    return _click_urls(token)(url)


def click_destination(token: str, signed: str) -> str | None:
    """The URL a tracked link of this message leads to, or None if it was not signed for this token."""
    try:
        url = _click_signer(token).unsign(signed)
    except signing.BadSignature:
        return None
    return url if _TRACKABLE.match(url) else None


def unsubscribe_url(token: str) -> str:
    return _public(f"/u/{token}/")


def unsubscribe_mailto(token: str) -> str:
    """`mailto:` for List-Unsubscribe, through UNSUBSCRIBE_MAILTO with the token as a subaddress;
    "" when that is not set."""
    address = settings.UNSUBSCRIBE_MAILTO
    if not address:
        return ""
    local, _, domain = address.rpartition("@")
    return f"mailto:{local}+{token}@{domain}?subject=unsubscribe"


def mailto_token(address: str) -> str | None:
    """The token in an address like `unsubscribe+<token>@…` under UNSUBSCRIBE_MAILTO, else None."""
    configured = settings.UNSUBSCRIBE_MAILTO
    if not configured or "@" not in address:
        return None
    local, _, domain = configured.rpartition("@")
    their_local, _, their_domain = address.rpartition("@")
    prefix, plus, token = their_local.partition("+")
    if not plus or prefix.lower() != local.lower() or their_domain.lower() != domain.lower():
        return None
    return token.lower() or None


def tracking_apply(html_text: str, *, token: str, track_opens: bool, track_clicks: bool) -> str:
    """Rewrite the message's http(s) links to tracked ones (never its unsubscribe link, mailto:, tel:
    or #anchors) and append the open pixel."""
    if track_clicks:
        unsubscribe, tracked = unsubscribe_url(token), _click_urls(token)

        def rewrite(match: re.Match) -> str:
            href = html.unescape(match.group(3)).strip()
            if not _TRACKABLE.match(href) or href == unsubscribe:
                return match.group(0)
            quote_char = match.group(2)
            return f"{match.group(1)}{quote_char}{html.escape(tracked(href))}{quote_char}"

        html_text = _HREF.sub(rewrite, html_text)
    if track_opens:
        pixel = (
            f'<img src="{html.escape(open_pixel_url(token))}" width="1" height="1" alt="" '
            'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0">'
        )
        ends = list(_BODY_END.finditer(html_text))
        if ends:
            at = ends[-1].start()
            html_text = f"{html_text[:at]}{pixel}{html_text[at:]}"
        else:
            html_text += pixel
    return html_text
