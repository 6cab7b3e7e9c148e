"""CSV imports: the wizard (upload, map columns, start), each import's live progress, and the list.

The wizard's steps run in the browser against the imports API (preview reads the upload's columns
and first rows; create stores it and queues the work), so the dashboard and API clients share one
path. The progress page is server-rendered and re-reads itself every second until the import ends.
"""

from django.conf import settings
from django.middleware.csrf import get_token
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.roles import Perm
from accounts.views import dashboard_view, paginate, render_page
from crm.models import ContactImport, JobStatus
from crm.selectors import dashboard as selectors
from crm.selectors.imports import contact_import_errors
from crm.services.imports import import_targets
from crm.views import workspace_object_or_404

ERRORS_SHOWN = 10


def _percent(contact_import) -> int:
    if contact_import.status == JobStatus.DONE:
        return 100
    if not contact_import.total:
        return 0
    return min(100, contact_import.processed * 100 // contact_import.total)


@dashboard_view(Perm.READ)
@require_GET
def import_list(request, access):
    imports = paginate(request, selectors.contact_import_list(workspace=access.workspace))
    for contact_import in imports:
        contact_import.percent = _percent(contact_import)
    return render_page(request, access, "crm/imports.html", {"tab": "imports", "imports": imports})


@dashboard_view(Perm.WRITE_CONTENT)
@require_GET
def import_new(request, access):
    wizard_config = {
        "workspace": access.workspace.pk,
        "api": "/api/v1/",
        "csrfToken": get_token(request),
        "targets": import_targets(workspace=access.workspace),
        "maxBytes": settings.CRM_IMPORT_MAX_BYTES,
        "progressUrlPattern": reverse("dashboard:contacts-import", args=[0]),
    }
    return render_page(request, access, "crm/import_new.html", {"tab": "imports", "wizard_config": wizard_config})


@dashboard_view(Perm.READ)
@require_GET
def import_detail(request, access, pk: int):
    contact_import = workspace_object_or_404(ContactImport, access, pk)
    contact_import.percent = _percent(contact_import)
    finished = contact_import.status in (JobStatus.DONE, JobStatus.FAILED)
    context = {
        "tab": "imports",
        "job": contact_import,
        "finished": finished,
        "errors": list(contact_import_errors(contact_import=contact_import)[:ERRORS_SHOWN]) if finished else [],
        "errors_url": reverse("contact-import-errors", args=[contact_import.pk]),
    }
    # While it runs the page polls itself; each poll swaps in just the progress card.
    template = "crm/_import_progress.html" if request.htmx else "crm/import_detail.html"
    return render_page(request, access, template, context)
