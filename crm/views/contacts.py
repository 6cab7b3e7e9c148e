"""The contacts table."""

from django.views.decorators.http import require_GET

from accounts.roles import Perm
from accounts.views import dashboard_view, paginate, render_page
from crm.models import Contact


@dashboard_view(Perm.READ)
@require_GET
def contact_list(request, access):
    contacts = paginate(request, Contact.objects.for_workspace(access.workspace))
    return render_page(request, access, "crm/contacts.html", {"tab": "contacts", "contacts": contacts})
