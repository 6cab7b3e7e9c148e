"""CSV files people open in a spreadsheet: cells that cannot run as formulas, rows that stream.

Every CSV download (form submissions, contacts) writes its cells through `csv_safe()`, and the
contact import reads them back through `csv_unescape()`, so an exported file imports unchanged.
"""

import csv
from collections.abc import AsyncIterator, Iterable, Iterator
from itertools import islice

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse

# Spreadsheet apps run a cell starting with these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value) -> str:
    """A value as a spreadsheet cell reads it: yes/no for booleans, "a; b" for lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "; ".join(cell_text(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {cell_text(item)}" for key, item in value.items())
    return str(value)


def csv_safe(value) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a leading quote."""
    text = cell_text(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_unescape(text: str) -> str:
    """The cell `csv_safe()` was given: its protective leading quote removed."""
    if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


class _Echo:
    """csv.writer writes into this and gets the line back, so each row streams as it is made."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list]) -> Iterator[str]:
    """Each row as one CSV line, as it comes; for a StreamingHttpResponse. Cells are written as given:
    pass them through `csv_safe()` first."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)


class CsvResponse(StreamingHttpResponse):
    """A CSV download streamed from a synchronous row iterator (ORM reads), under WSGI and ASGI alike.

    Django serves a synchronous iterator to an ASGI server by reading all of it into memory first;
    here it is read a block of lines at a time in the request's sync thread (where its database
    connection lives), so a large export streams in constant memory.
    """

    #: Lines per trip to the sync thread: few enough trips, small enough blocks.
    ASYNC_BLOCK_LINES = 500

    def __init__(self, rows: Iterable[list], *, filename: str):
        super().__init__(csv_lines(rows), content_type="text/csv; charset=utf-8")
        self["Content-Disposition"] = f'attachment; filename="{filename}"'

    async def __aiter__(self) -> AsyncIterator[bytes]:
        lines = iter(self.streaming_content)
        next_block = sync_to_async(lambda: b"".join(islice(lines, self.ASYNC_BLOCK_LINES)), thread_sensitive=True)
        while block := await next_block():
            yield block
