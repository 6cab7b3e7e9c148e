"""The CRM's dashboard pages: contacts, a contact's profile and timeline, segments, imports, custom
fields and scoring rules.

Reads go through crm.selectors, writes through crm.services, so a page and the API share one set of
checks. Objects are looked up within the current workspace: another workspace's ids are a 404.
"""

from django.shortcuts import get_object_or_404


def workspace_object_or_404(model, access, pk: int, *, related: tuple[str, ...] = ()):
    """The current workspace's `model` row with this id: a 404 when there is none, or it is another
    workspace's."""
    return get_object_or_404(model.objects.for_workspace(access.workspace).select_related(*related), pk=pk)
