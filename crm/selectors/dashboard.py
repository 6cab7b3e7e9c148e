"""Reads for the CRM's dashboard pages that the API's selectors don't already cover.

Every read takes the workspace, so a page can only ever find its own workspace's rows: another
workspace's id is simply not found (a 404).
"""

from django.db.models import Count, Q, QuerySet

from builder.components import REGISTRY
from builder.models import Component
from crm.models import ConsentRecord, Contact, ContactActivity, ContactImport, CustomField, Tag

FORM_LABEL_CHARS = 80


def contact_exists(*, workspace) -> bool:
    return Contact.objects.for_workspace(workspace).exists()


def contact_tags(*, contact: Contact) -> list[Tag]:
    return list(Tag.objects.for_workspace(contact.workspace_id).filter(contact_tags__contact=contact).order_by("name"))


def contact_timeline(*, contact: Contact, kinds: tuple[str, ...] = ()) -> QuerySet[ContactActivity]:
    """The contact's activities, newest first (the `activity_timeline` index), optionally of some kinds."""
    activities = (
        ContactActivity.objects.for_workspace(contact.workspace_id)
        .filter(contact=contact)
        .select_related("actor")
        .order_by("-at", "-id")
    )
    if kinds:
        activities = activities.filter(kind__in=kinds)
    return activities


def contact_consents(*, contact: Contact) -> QuerySet[ConsentRecord]:
    return ConsentRecord.objects.for_workspace(contact.workspace_id).filter(contact=contact).order_by("-at", "-id")


def tag_list(*, workspace) -> QuerySet[Tag]:
    """The workspace's tags by name, each with `contact_count`."""
    return Tag.objects.for_workspace(workspace).annotate(contact_count=Count("contact_tags")).order_by("name", "id")


def custom_field_list(*, workspace) -> QuerySet[CustomField]:
    return CustomField.objects.for_workspace(workspace).order_by("order", "id")


def custom_field_list_with_usage(*, workspace) -> list[CustomField]:
    """The workspace's custom fields, each with `usage`: how many contacts hold a value of it."""
    fields = list(custom_field_list(workspace=workspace))
    if not fields:
        return fields
    # One pass over the contacts counts every field, rather than a count per field.
    usage = Contact.objects.for_workspace(workspace).aggregate(
        **{f"field_{field.pk}": Count("pk", filter=Q(custom_fields__has_key=field.key)) for field in fields}
    )
    for field in fields:
        field.usage = usage[f"field_{field.pk}"]
    return fields


def contact_import_list(*, workspace) -> QuerySet[ContactImport]:
    return ContactImport.objects.for_workspace(workspace).select_related("created_by").order_by("-created_at", "-id")


def form_components(*, workspace) -> QuerySet[Component]:
    """The workspace's form components (what a form_submitted activity's ref names), site by site in
    page order, with their page and site."""
    form_types = [name for name, component_type in REGISTRY.items() if component_type.is_form]
    return (
        Component.objects.for_workspace(workspace)
        .filter(type__in=form_types)
        .select_related("page__site")
        .order_by("page__site__name", "page__site_id", "page__order", "page_id", "position", "id")
    )


def form_choices(*, workspace) -> list[tuple[str, str]]:
    """The workspace's forms as (value, label) choices, for "submitted form X" rules: an activity's
    ref is the form's component id."""
    choices = []
    for component in form_components(workspace=workspace):
        config = component.config or {}
        heading = config.get("heading") or config.get("title") or component.type.replace("_", " ").capitalize()
        choices.append((str(component.pk), f"{component.page.site.name} · {heading}"[:FORM_LABEL_CHARS]))
    return choices
