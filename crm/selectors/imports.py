"""Reading imports: the rejected rows of one, for its report."""

from django.db.models import QuerySet

from crm.models import ContactImport, ContactImportError


def contact_import_errors(*, contact_import: ContactImport) -> QuerySet[ContactImportError]:
    return ContactImportError.objects.filter(contact_import=contact_import).order_by("row_number", "id")


def contact_import_report_columns(*, contact_import: ContactImport) -> list[str]:
    """The file's columns as the rejected rows hold them, in file order (a row with more cells than
    the header adds "Column N" columns at the end)."""
    columns: dict[str, None] = {}
    rows = contact_import_errors(contact_import=contact_import).values_list("row", flat=True)
    for row in rows.iterator(chunk_size=2000):
        columns.update(dict.fromkeys(import_error_cells(row)))
    return list(columns)


def import_error_cells(row) -> dict[str, str]:
    """A rejected row's cells by column, in file order (stored as [column, cell] pairs)."""
    if isinstance(row, dict):
        return row
    if isinstance(row, list):
        return {str(pair[0]): pair[1] for pair in row if isinstance(pair, list) and len(pair) == 2}
    return {}
