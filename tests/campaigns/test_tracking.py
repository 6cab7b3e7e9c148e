"""Tracking: the open pixel is a real GIF that records a person's first open once, and a tracked link
leads only to the URL that was in that email."""

import datetime
import struct
import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core import signing
from django.db import connection
from django.test import Client
from django.utils import timezone

from campaigns.events import EMAIL_CLICKED, EMAIL_OPENED
from campaigns.models import EmailEngagement, EmailSend, EngagementKind, SendingSettings, SendKind, SendStatus
from campaigns.services.engagement import open_record
from campaigns.tracking import (
    CLICK_SALT,
    click_url,
    new_send_token,
    open_pixel_url,
    tracking_apply,
    unsubscribe_url,
)
from core.models import Event
from crm.models import ActivityKind, ContactActivity
from tests.factories import CampaignFactory, EmailSendFactory

pytestmark = pytest.mark.django_db

PUBLIC = "https://mail.siteflow.test"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.EMAIL_PUBLIC_URL = PUBLIC


@pytest.fixture
def send():
    campaign = CampaignFactory()
    return EmailSendFactory(
        workspace=campaign.workspace,
        campaign=campaign,
        kind=SendKind.CAMPAIGN,
        token=new_send_token(),
        status=SendStatus.SENT,
        sent_at=timezone.now() - datetime.timedelta(hours=1),
    )


def local(url: str) -> str:
    """The path and query a public URL asks of this server."""
    assert url.startswith(PUBLIC + "/"), url
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def fetch_pixel(send, user_agent: str = BROWSER):
    return Client().get(local(open_pixel_url(send.token)), HTTP_USER_AGENT=user_agent)


def events(type_: str) -> list[dict]:
    return list(Event.objects.filter(type=type_).values_list("payload", flat=True))


# --- Tokens and rewriting ---------------------------------------------------------------------------


def test_send_tokens_are_unguessable_and_fit_the_ledger():
    tokens = {new_send_token() for _ in range(1000)}
    assert len(tokens) == 1000
    longest = max(len(token) for token in tokens)
    assert longest <= EmailSend._meta.get_field("token").max_length == 32
    assert all(len(token) == 32 and int(token, 16) >= 0 for token in tokens)  # 128 random bits


def test_links_are_rewritten_except_mailto_anchors_and_the_unsubscribe_link():
    token = new_send_token()
    html = (
        "<html><body>"
        '<a href="https://shop.example.com/sale?a=1&amp;b=2">Sale</a>'
        "<a class='cta' href='http://example.org/x'>X</a>"
        '<a href="mailto:hello@example.com">Mail</a>'
        '<a href="tel:+4420">Call</a>'
        '<a href="#top">Top</a>'
        f'<a href="{unsubscribe_url(token)}">Unsubscribe</a>'
        "</body></html>"
    )
    out = tracking_apply(html, token=token, track_opens=True, track_clicks=True)

    assert "https://shop.example.com" not in out.split("/t/c/")[0]
    assert out.count(f"{PUBLIC}/t/c/{token}?") == 2
    assert 'href="mailto:hello@example.com"' in out
    assert 'href="tel:+4420"' in out
    assert 'href="#top"' in out
    assert f'href="{unsubscribe_url(token)}"' in out
    assert "class='cta' href='" in out  # the quoting is kept
    pixel = f'<img src="{open_pixel_url(token)}" width="1" height="1"'
    assert pixel in out and out.index(pixel) < out.index("</body>")


def test_nothing_is_rewritten_when_tracking_is_off():
    html = '<p><a href="https://example.com/">Go</a></p>'
    assert tracking_apply(html, token=new_send_token(), track_opens=False, track_clicks=False) == html


# --- The open pixel -----------------------------------------------------------------------------------


def assert_transparent_gif(body: bytes):
    assert body[:6] == b"GIF89a"
    width, height, flags = struct.unpack("<HHB", body[6:11])
    assert (width, height) == (1, 1)
    assert flags & 0x80  # a global colour table follows
    table_size = 3 * 2 ** ((flags & 0x07) + 1)
    at = 13 + table_size
    # Graphic control extension with the transparency flag set, then the 1x1 image descriptor.
    assert body[at : at + 3] == b"\x21\xf9\x04" and body[at + 3] & 0x01
    at += 8
    assert body[at] == 0x2C
    assert struct.unpack("<HHHH", body[at + 1 : at + 9]) == (0, 0, 1, 1)
    assert body[-1:] == b";"
    assert len(body) == 43


def test_the_pixel_is_a_transparent_one_by_one_gif_never_cached(send):
    response = fetch_pixel(send)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert "no-store" in response["Cache-Control"]
    assert_transparent_gif(response.content)


def test_the_first_open_is_recorded_once_and_the_rest_counted(send):
    first = fetch_pixel(send)
    send.refresh_from_db()
    opened_at = send.first_opened_at
    assert opened_at is not None
    fetch_pixel(send)
    fetch_pixel(send)

    send.refresh_from_db()
    assert send.first_opened_at == opened_at
    assert (send.open_count, send.machine_open_count) == (3, 0)
    assert EmailEngagement.objects.filter(send=send, kind=EngagementKind.OPEN, machine=False).count() == 3
    activity = ContactActivity.objects.get(contact=send.contact, kind=ActivityKind.EMAIL_OPENED)
    assert activity.ref == str(send.campaign_id)
    assert activity.data["send_id"] == send.pk
    assert events(EMAIL_OPENED) == [
        {"send_id": send.pk, "contact_id": send.contact_id, "campaign_id": send.campaign_id}
    ]
    assert first.content == fetch_pixel(send).content


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0",  # Apple Mail Privacy Protection's proxy
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
        "Barracuda Sentinel (EE)",
        "python-requests/2.32.3",
        "",
    ],
)
def test_proxies_and_scanners_are_counted_apart_and_announce_nothing(send, user_agent):
    fetch_pixel(send, user_agent)
    send.refresh_from_db()
    assert (send.first_opened_at, send.open_count, send.machine_open_count) == (None, 0, 1)
    assert EmailEngagement.objects.get(send=send).machine
    assert not ContactActivity.objects.filter(kind=ActivityKind.EMAIL_OPENED).exists()
    assert events(EMAIL_OPENED) == []


def test_an_open_seconds_after_sending_is_a_machine(send):
    EmailSend.objects.filter(pk=send.pk).update(sent_at=timezone.now() - datetime.timedelta(seconds=1))
    fetch_pixel(send)
    send.refresh_from_db()
    assert (send.first_opened_at, send.machine_open_count) == (None, 1)


def test_an_unknown_token_still_gets_the_gif_and_records_nothing(send):
    response = Client().get("/t/o/0123456789abcdef0123456789abcdef.gif", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    assert_transparent_gif(response.content)
    assert not EmailEngagement.objects.exists()
    assert not Event.objects.filter(type=EMAIL_OPENED).exists()


def test_a_workspace_that_turned_open_tracking_off_records_no_opens(send):
    SendingSettings.objects.create(workspace=send.workspace, track_opens=False)
    assert fetch_pixel(send).status_code == 200
    send.refresh_from_db()
    assert (send.first_opened_at, send.open_count, send.machine_open_count) == (None, 0, 0)
    assert not EmailEngagement.objects.exists()


# --- Tracked links ------------------------------------------------------------------------------------


def test_a_click_redirects_to_exactly_the_url_in_the_email_and_counts_as_the_open(send):
    destination = "https://shop.example.com/sale?utm_source=email&a=1&b=%C3%A9#deal"
    response = Client().get(local(click_url(send.token, destination)), HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 302
    assert response["Location"] == destination
    send.refresh_from_db()
    assert send.click_count == 1 and send.first_clicked_at is not None
    assert send.first_opened_at is not None and send.open_count == 1
    assert EmailEngagement.objects.get(send=send, kind=EngagementKind.CLICK).url == destination
    clicked = ContactActivity.objects.get(contact=send.contact, kind=ActivityKind.EMAIL_CLICKED)
    assert clicked.data["url"] == destination
    assert events(EMAIL_CLICKED) == [
        {"send_id": send.pk, "contact_id": send.contact_id, "campaign_id": send.campaign_id, "url": destination}
    ]
    assert len(events(EMAIL_OPENED)) == 1


def test_the_first_click_on_each_link_is_announced_the_rest_counted(send):
    client = Client()
    for url in ("https://example.com/a", "https://example.com/a", "https://example.com/b"):
        assert client.get(local(click_url(send.token, url)))["Location"] == url
    send.refresh_from_db()
    assert send.click_count == 3
    assert sorted(payload["url"] for payload in events(EMAIL_CLICKED)) == [
        "https://example.com/a",
        "https://example.com/b",
    ]
    assert ContactActivity.objects.filter(kind=ActivityKind.EMAIL_CLICKED).count() == 2


def tampered(send, destination: str) -> list[str]:
    """Ways to aim a tracked link somewhere else."""
    path = local(click_url(send.token, destination))
    signed = parse_qs(urlsplit(path).query)["u"][0]
    other = EmailSendFactory(workspace=send.workspace, token=new_send_token())
    evil = "https://evil.example/phish"
    return [
        f"/t/c/{send.token}?" + urlencode({"u": signed.replace(destination, evil)}),
        f"/t/c/{send.token}?" + urlencode({"u": evil}),
        f"/t/c/{send.token}",
        f"/t/c/{send.token}?" + urlencode({"u": signed + "x"}),
        # A genuine link of this email replayed under another message's token.
        f"/t/c/{other.token}?" + urlencode({"u": signed}),
        # A signature over a script URL: never followed, whoever signed it.
        f"/t/c/{send.token}?"
        + urlencode({"u": signing.Signer(salt=f"{CLICK_SALT}:{send.token}").sign("javascript:alert(1)")}),
        f"/t/c/{send.token}?" + urlencode({"u": "//evil.example/"}),
    ]


def test_tampered_links_are_a_404_never_a_redirect(send):
    client = Client()
    for path in tampered(send, "https://shop.example.com/sale"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Location" not in response
        assert b"This link doesn" in response.content
    send.refresh_from_db()
    assert (send.click_count, send.open_count) == (0, 0)
    assert not EmailEngagement.objects.exists()
    assert not Event.objects.filter(type__in=[EMAIL_CLICKED, EMAIL_OPENED]).exists()


def test_with_click_tracking_off_links_still_lead_on_and_nothing_is_recorded(send):
    SendingSettings.objects.create(workspace=send.workspace, track_clicks=False)
    response = Client().get(local(click_url(send.token, "https://example.com/a")))
    assert response["Location"] == "https://example.com/a"
    send.refresh_from_db()
    assert (send.click_count, send.open_count) == (0, 0)
    assert not EmailEngagement.objects.exists()


def test_a_head_request_answers_like_a_get_and_records_nothing(send):
    client = Client()
    assert client.head(local(open_pixel_url(send.token)), HTTP_USER_AGENT=BROWSER)["Content-Type"] == "image/gif"
    assert client.head(local(click_url(send.token, "https://example.com/a")))["Location"] == "https://example.com/a"
    send.refresh_from_db()
    assert (send.open_count, send.machine_open_count, send.click_count) == (0, 0, 0)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_opens_record_one_first_open():
    """Eight fetches of the pixel at the same instant (a mail client opening on several devices):
    the row lock lets exactly one of them be the first open."""
    campaign = CampaignFactory()
    send = EmailSendFactory(
        workspace=campaign.workspace,
        campaign=campaign,
        kind=SendKind.CAMPAIGN,
        token=new_send_token(),
        status=SendStatus.SENT,
        sent_at=timezone.now() - datetime.timedelta(hours=1),
    )
    barrier = threading.Barrier(8)

    def fetch():
        try:
            barrier.wait()
            open_record(token=send.token, user_agent=BROWSER)
        finally:
            connection.close()

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    send.refresh_from_db()
    assert send.open_count == 8
    assert len(events(EMAIL_OPENED)) == 1
    assert ContactActivity.objects.filter(kind=ActivityKind.EMAIL_OPENED).count() == 1
