"""Pages and endpoints a recipient reaches from an email: no login, no cookies.

- `GET /t/o/<token>.gif`: the open pixel. Always the same 1x1 GIF, whatever the token, so it reveals
  nothing; recording is the service's business.
- `GET /t/c/<token>?u=<signed URL>`: a tracked link. 302 to the URL only if it was signed for this
  message's token; anything else is a 404 page, never a redirect elsewhere.
- `GET /u/<token>/` asks "unsubscribe?" (or offers to resubscribe); `POST /u/<token>/` unsubscribes.
  It is CSRF-exempt because mail providers post RFC 8058's `List-Unsubscribe=One-Click` with no cookie
  and no page; the unguessable token is the credential. `POST /u/<token>/resubscribe/` undoes it.
- `/c/<signed>/`: double opt-in. GET only shows a button (mail scanners follow links), POST confirms.
- `/senders/verify/<token>/`: the same two steps for a sender's address.
"""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from campaigns.services.engagement import (
    click_record,
    email_resubscribe,
    email_unsubscribe,
    open_record,
    send_by_token,
)
from campaigns.services.optin import OptInLinkExpired, OptInLinkInvalid, optin_confirm, optin_request_for_link
from campaigns.services.senders import sender_verify
from campaigns.tracking import CLICK_PARAM, click_destination
from crm.models import ContactStatus

#: A transparent 1x1 GIF89a: header, logical screen, a two-colour table, a graphic control extension
#: marking colour 0 transparent, one image block, trailer.
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
    b"!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
ONE_CLICK_BODY = ("List-Unsubscribe", "One-Click")


def _message(request: HttpRequest, title: str, text: str, *, status: int = 200, tone: str = "neutral") -> HttpResponse:
    return render(request, "campaigns/public/message.html", {"title": title, "text": text, "tone": tone}, status=status)


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return _message(
        request,
        "This link doesn't work",
        "It may have been mistyped or cut off. Open it again from the email it came in.",
        status=404,
        tone="error",
    )


def _action(request: HttpRequest, title: str, text: str, *, action: str, button: str, **extra) -> HttpResponse:
    return render(
        request,
        "campaigns/public/action.html",
        {"title": title, "text": text, "action": action, "button": button, **extra},
    )


def _masked(email: str) -> str:
    """j•••@example.com: enough for the person to recognise their address, not enough to harvest it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "your address"


@never_cache
@require_safe
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":  # a HEAD (a link checker) fetches nothing, so it opened nothing
        open_record(token=token, user_agent=request.headers.get("User-Agent", ""))
    return HttpResponse(PIXEL_GIF, content_type="image/gif")


@never_cache
@require_safe
def click(request: HttpRequest, token: str) -> HttpResponse:
    url = click_destination(token, request.GET.get(CLICK_PARAM, ""))
    if url is None:
        return _invalid_link(request)
    send = send_by_token(token) if request.method == "GET" else None
    if send is not None:
        click_record(send=send, url=url)
    return HttpResponseRedirect(url)


def _unsubscribe_page(request: HttpRequest, send) -> HttpResponse:
    contact, workspace = send.contact, send.workspace.name
    if contact.status == ContactStatus.UNSUBSCRIBED:
        return _action(
            request,
            "You're unsubscribed",
            f"{_masked(contact.email)} will get no more marketing emails from {workspace}.",
            action=reverse("campaigns_public:resubscribe", args=[send.token]),
            button="Resubscribe",
            note="Unsubscribed by mistake? Resubscribe to hear from them again.",
            tone="success",
        )
    return _action(
        request,
        "Unsubscribe?",
        f"Unsubscribe {_masked(contact.email)} from {workspace}'s emails?",
        action=reverse("campaigns_public:unsubscribe", args=[send.token]),
        button="Unsubscribe",
    )


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    send = send_by_token(token)
    if send is None or send.contact_id is None:
        return _invalid_link(request)
    if request.method == "POST":
        one_click = request.POST.get(ONE_CLICK_BODY[0]) == ONE_CLICK_BODY[1]
        how = "One-click unsubscribe" if one_click else "Unsubscribe page"
        send.contact = email_unsubscribe(send=send, reason=f"{how} of the email “{send.subject}”.")
    return _unsubscribe_page(request, send)


@never_cache
@csrf_exempt
@require_POST
def resubscribe(request: HttpRequest, token: str) -> HttpResponse:
    send = send_by_token(token)
    if send is None or send.contact_id is None:
        return _invalid_link(request)
    email_resubscribe(send=send)
    return _message(
        request,
        "You're subscribed again",
        f"{_masked(send.contact.email)} will hear from {send.workspace.name} again. "
        "Every email has a link to unsubscribe.",
        tone="success",
    )


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST"])
def optin_confirm_page(request: HttpRequest, signed: str) -> HttpResponse:
    try:
        if request.method == "POST":
            optin, confirmed = optin_confirm(signed=signed)
        else:
            optin, confirmed = optin_request_for_link(signed), False
    except OptInLinkExpired:
        return _message(
            request,
            "This confirmation link has expired",
            "Sign up again on the form and we'll send you a fresh link.",
            status=400,
            tone="error",
        )
    except OptInLinkInvalid:
        return _invalid_link(request)
    workspace = optin.workspace.name
    if confirmed:
        return _message(request, "Subscription confirmed", f"Thank you! You'll hear from {workspace}.", tone="success")
    if optin.confirmed_at is not None:
        return _message(request, "Already confirmed", f"This subscription to {workspace} was confirmed already.")
    return _action(
        request,
        "Confirm your subscription",
        f"Confirm that {_masked(optin.contact.email)} wants to receive emails from {workspace}.",
        action=request.path,
        button="Confirm subscription",
    )


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST"])
def sender_verify_page(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        return _action(
            request,
            "Confirm this sender",
            "Confirm that this address may be used to send email from Siteflow.",
            action=request.path,
            button="Confirm address",
        )
    try:
        sender = sender_verify(token=token)
    except ValidationError as exc:
        message = " ".join(exc.message_dict.get("token", exc.messages))
        return _message(request, "This link can't be used", message, status=400, tone="error")
    return _message(
        request,
        "Sender confirmed",
        f"{sender.from_email} can now send emails for {sender.workspace.name}.",
        tone="success",
    )
