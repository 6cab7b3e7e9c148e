"""The outbox of the embedded default: with Django's file backend every message is written to a file
under EMAIL_FILE_PATH instead of being sent, and these pages show them, so a newcomer sees exactly
what would have gone out (headers, the HTML as an inbox would show it, the plain text).

The backend appends each message to its connection's file followed by a line of 79 dashes, so one
file holds a batch. A message is addressed by its file's name and its place in the file; the name is
checked to be a plain file name directly in the outbox, never a path. Messages are shown whatever
their workspace, to members only, and only when the file backend is the one in use.
"""

import email
import email.parser
import email.policy
import email.utils
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from accounts.roles import Perm
from accounts.views import dashboard_view, paginate
from campaigns.views import outbox_enabled, render_email_page

SEPARATOR = b"\n" + b"-" * 79 + b"\n"
#: A file name the backend could have written: no separators, no leading dot.
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$")
#: Shown in a sandboxed frame: no scripts, and no remote fetches — not even images, so looking at a
#: message never counts as an open of its tracking pixel.
MESSAGE_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"
_PARSER = email.parser.BytesParser(policy=email.policy.default)


def _directory() -> Path:
    if not outbox_enabled():
        raise Http404("The outbox is only kept with the file email backend.")
    return Path(settings.EMAIL_FILE_PATH).resolve()


def _is_message_file(path: Path) -> bool:
    """A plain file the backend could have written: a name without separators or "..", and no link
    that would lead out of the folder."""
    return bool(_FILE_NAME.match(path.name)) and ".." not in path.name and not path.is_symlink() and path.is_file()


def _file(name: str) -> Path:
    """The outbox file called `name`; a 404 for anything else (a path, a link out, a missing file)."""
    path = _directory() / name
    if path.parent != _directory() or not _is_message_file(path):
        raise Http404("No such message.")
    return path


@lru_cache(maxsize=2048)
def _spans(path: Path, mtime_ns: int, size: int) -> tuple[tuple[int, int], ...]:
    """Where each message of a file starts and ends; cached until the file changes."""
    data = path.read_bytes()
    spans, start = [], 0
    while (end := data.find(SEPARATOR, start)) != -1:
        spans.append((start, end))
        start = end + len(SEPARATOR)
    return tuple(span for span in spans if span[1] > span[0])


def _spans_of(path: Path) -> tuple[tuple[int, int], ...]:
    stat = path.stat()
    return _spans(path, stat.st_mtime_ns, stat.st_size)


def _raw(path: Path, index: int) -> bytes:
    spans = _spans_of(path)
    if not 0 <= index < len(spans):
        raise Http404("No such message.")
    start, end = spans[index]
    with path.open("rb") as handle:
        handle.seek(start)
        return handle.read(end - start)


@dataclass(frozen=True)
class OutboxEntry:
    name: str
    index: int
    subject: str
    to: str
    sender: str
    date: object


def _entry(path: Path, index: int, headers=None) -> OutboxEntry:
    """What the list shows of a message; its headers are read unless given."""
    if headers is None:
        headers = _PARSER.parsebytes(_raw(path, index), headersonly=True)
    try:
        date = email.utils.parsedate_to_datetime(headers["Date"]) if headers["Date"] else None
    except (TypeError, ValueError):
        date = None
    return OutboxEntry(
        name=path.name,
        index=index,
        subject=str(headers["Subject"] or "(no subject)"),
        to=str(headers["To"] or ""),
        sender=str(headers["From"] or ""),
        date=date,
    )


def _newest_first() -> list[tuple[Path, int]]:
    directory = _directory()
    if not directory.is_dir():
        return []
    files = [path for path in directory.iterdir() if _is_message_file(path)]
    files.sort(key=lambda path: (path.stat().st_mtime_ns, path.name), reverse=True)
    return [(path, index) for path in files for index in reversed(range(len(_spans_of(path))))]


@dashboard_view(Perm.READ)
@require_GET
def outbox_list(request, access):
    page = paginate(request, _newest_first())
    page.object_list = [_entry(path, index) for path, index in page.object_list]
    context = {"tab": "outbox", "messages_page": page}
    return render_email_page(request, access, "campaigns/outbox.html", context)


def _message(path: Path, index: int) -> email.message.EmailMessage:
    return _PARSER.parsebytes(_raw(path, index))


def _part(message, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    return part.get_content() if part is not None else ""


@dashboard_view(Perm.READ)
@require_GET
def outbox_message(request, access, name: str, index: int):
    path = _file(name)
    message = _message(path, index)
    context = {
        "tab": "outbox",
        "entry": _entry(path, index, message),
        "headers": [(key, str(value)) for key, value in message.items()],
        "has_html": message.get_body(preferencelist=("html",)) is not None,
        "text": _part(message, "plain"),
        "attachments": [part.get_filename() or part.get_content_type() for part in message.iter_attachments()],
    }
    return render_email_page(request, access, "campaigns/outbox_message.html", context)


@xframe_options_sameorigin
@dashboard_view(Perm.READ)
@require_GET
def outbox_message_html(request, access, name: str, index: int):
    html = _part(_message(_file(name), index), "html")
    if not html:
        raise Http404("This message has no HTML part.")
    response = HttpResponse(html)
    response["Content-Security-Policy"] = MESSAGE_CSP
    return response
