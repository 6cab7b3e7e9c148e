import asyncio
import csv
import io

import pytest

from core.csv import CsvResponse, csv_lines, csv_safe, csv_unescape


@pytest.mark.parametrize(
    "value", ["=cmd|' /C calc'!A0", "+14155550123", "-2", "@SUM(A1)", "\tx", "plain", "'quoted", ""]
)
def test_an_escaped_cell_reads_back_as_written(value):
    assert csv_unescape(csv_safe(value)) == value


def test_a_leading_quote_before_ordinary_text_is_kept():
    assert csv_unescape("'tis the season") == "'tis the season"
    assert csv_unescape("'") == "'"


def test_lines_stream_one_row_at_a_time_with_quoting():
    lines = csv_lines([["a", "b,c"], ["line\nbreak", '"q"']])
    first = next(lines)
    assert first == 'a,"b,c"\r\n'
    rest = "".join(lines)
    assert list(csv.reader(io.StringIO(first + rest))) == [["a", "b,c"], ["line\nbreak", '"q"']]


def test_the_download_streams_to_an_async_server_in_blocks_not_all_at_once():
    pulled = []

    def rows():
        for n in range(1200):
            pulled.append(n)
            yield [str(n)]

    response = CsvResponse(rows(), filename="numbers.csv")
    assert response["Content-Disposition"] == 'attachment; filename="numbers.csv"'

    async def first_block_then_rest():
        blocks = aiter(response)
        first = await anext(blocks)
        seen_after_first = len(pulled)
        return first, seen_after_first, [block async for block in blocks]

    first, seen_after_first, rest = asyncio.run(first_block_then_rest())
    assert seen_after_first == CsvResponse.ASYNC_BLOCK_LINES
    assert (first + b"".join(rest)).decode().split() == [str(n) for n in range(1200)]
    assert len(rest) == 2


def test_the_download_streams_to_a_sync_server_line_by_line():
    response = CsvResponse(iter([["a"], ["=b"]]), filename="x.csv")
    assert list(response) == [b"a\r\n", b"=b\r\n"]
