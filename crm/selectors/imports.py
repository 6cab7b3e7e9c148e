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
        if isinstance(row, dict):
            columns.update(dict.fromkeys(row))
    return list(columns)
