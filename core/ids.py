"""Row ids: 64-bit integers in both databases. A number past the range names no row, and is
refused before a query (which would overflow the column) rather than failing in the database."""

ID_MAX = 2**63 - 1


def is_object_id(value) -> bool:
    """A value that can name a row: a positive whole number within the database's 64-bit ids."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= ID_MAX
