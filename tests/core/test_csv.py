import csv
import io

import pytest

from core.csv import csv_lines, csv_safe, csv_unescape


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
