"""The outbox of the embedded default: messages the file backend wrote, newest first, each with its
headers, its HTML in a sandbox and its text; nothing outside the outbox folder is ever read."""

import os

import pytest
from django.core import mail
from django.urls import reverse

from accounts.roles import Role

FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
OUTBOX = reverse("dashboard:campaigns-outbox")


@pytest.fixture
def outbox(settings, tmp_path):
    folder = tmp_path / "outbox"
    settings.EMAIL_BACKEND = FILE_BACKEND
    settings.EMAIL_FILE_PATH = folder
    return folder


@pytest.fixture
def editor(member):
    return member(Role.EDITOR)


def send(*subjects: str) -> None:
    """One connection, so one file holding the batch, as delivery sends it."""
    with mail.get_connection() as connection:
        for subject in subjects:
            message = mail.EmailMultiAlternatives(
                subject, f"Text of {subject}", "News <news@example.com>", ["ana@example.com"], connection=connection
            )
            message.attach_alternative(f"<p>HTML of <b>{subject}</b><script>alert(1)</script></p>", "text/html")
            message.extra_headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            message.send()


def message_url(name: str, index: int, html: bool = False) -> str:
    return reverse(
        "dashboard:campaigns-outbox-html" if html else "dashboard:campaigns-outbox-message", args=[name, index]
    )


def test_lists_messages_newest_first_across_files(editor, outbox):
    send("First", "Second")
    older = next(outbox.iterdir())
    os.utime(older, (1_700_000_000, 1_700_000_000))
    send("Third")
    response = editor.web.get(OUTBOX)
    assert response.status_code == 200
    entries = list(response.context["messages_page"])
    assert [entry.subject for entry in entries] == ["Third", "Second", "First"]
    assert entries[0].to == "ana@example.com" and entries[0].date is not None
    assert message_url(older.name, 1) in response.content.decode()


def test_pages_through_a_long_outbox(editor, outbox):
    send(*(f"Message {n}" for n in range(27)))
    first = editor.web.get(OUTBOX).context["messages_page"]
    assert first.paginator.count == 27 and first.object_list[0].subject == "Message 26"
    second = editor.web.get(OUTBOX, {"page": 2}).context["messages_page"]
    assert [entry.subject for entry in second] == ["Message 1", "Message 0"]


def test_a_message_shows_headers_text_and_sandboxed_html(editor, outbox):
    send("Hello")
    name = next(outbox.iterdir()).name
    response = editor.web.get(message_url(name, 0))
    assert response.status_code == 200
    headers = dict(response.context["headers"])
    assert headers["Subject"] == "Hello" and headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = response.content.decode()
    assert "Text of Hello" in html and 'sandbox=""' in html and message_url(name, 0, html=True) in html
    part = editor.web.get(message_url(name, 0, html=True))
    assert part.status_code == 200 and b"HTML of <b>Hello</b>" in part.content
    policy = part["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy and "script" not in policy
    assert part["X-Frame-Options"] == "SAMEORIGIN"
    assert editor.web.get(message_url(name, 1)).status_code == 404


@pytest.mark.parametrize(
    "name",
    ["..", ".hidden", "..%2Fsettings.py", "%2e%2e", "..\\secrets", "outbox..log", "a b.log", "x" * 300],
)
def test_a_name_that_is_not_a_file_in_the_outbox_is_refused(editor, outbox, name):
    send("Hello")
    (outbox / ".hidden").write_bytes(b"Subject: hidden\n\nsecret\n" + b"-" * 79 + b"\n")
    path = f"{OUTBOX}{name}/0/"
    assert editor.web.get(path).status_code == 404
    assert editor.web.get(f"{path}html/").status_code == 404


def test_a_link_out_of_the_outbox_is_refused(editor, outbox, tmp_path):
    send("Hello")
    secret = tmp_path / "secret.log"
    secret.write_bytes(b"Subject: secret\n\nsecret\n" + b"-" * 79 + b"\n")
    (outbox / "link.log").symlink_to(secret)
    assert editor.web.get(message_url("link.log", 0)).status_code == 404
    assert "secret" not in editor.web.get(OUTBOX).content.decode()


def test_only_with_the_file_backend_and_only_for_members(editor, viewer, outbox, settings, client):
    send("Hello")
    assert viewer.web.get(OUTBOX).status_code == 200
    assert 'href="/campaigns/outbox/"' in viewer.web.get(reverse("dashboard:campaigns")).content.decode()
    assert client.get(OUTBOX).status_code == 302  # to the sign-in page
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert editor.web.get(OUTBOX).status_code == 404
    assert editor.web.get(message_url(next(outbox.iterdir()).name, 0)).status_code == 404
    assert 'href="/campaigns/outbox/"' not in editor.web.get(reverse("dashboard:campaigns")).content.decode()


def test_an_empty_outbox_says_so(editor, outbox):
    response = editor.web.get(OUTBOX)
    assert response.status_code == 200 and 'data-testid="outbox-empty"' in response.content.decode()
