"""Reading contacts: the filtered, searched and ordered list the API, the dashboard and bulk actions share."""

import re

from django.core.exceptions import ValidationError
from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.functions import Lower
from django.http import QueryDict

from crm.filters import ContactFilter
from crm.models import Contact, Tag

#: ?ordering= accepts these, each optionally with a leading "-", comma-separated.
ORDERING_FIELDS = ("created_at", "last_activity_at", "score", "email", "last_name")
DEFAULT_ORDERING = "-created_at"
SEARCH_MAX = 200
SEARCH_PARAM = "search"
#: What people type around the digits of a phone number.
_PHONE_PUNCTUATION = re.compile(r"[\s()+.\-/]")
_PHONE_MIN_DIGITS = 3


def contact_list(*, workspace, filters=None, search: str = "", ordering: str = "") -> QuerySet[Contact]:
    """The workspace's contacts, narrowed by `filters` (a dict or QueryDict of the parameters
    crm.filters.ContactFilter knows; others are ignored), `search` (words matched against email, first
    and last name, and phone digits) and ordered by `ordering` (see ORDERING_FIELDS; newest first by
    default). Tags are prefetched, so serialising a page of any size costs one more query.

    Raises ValidationError naming the bad parameter, e.g. {"score_min": [...]} or {"ordering": [...]}.
    """
    contacts = Contact.objects.for_workspace(workspace)
    filterset = ContactFilter(params_querydict(filters or {}), queryset=contacts, workspace=workspace)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    contacts = contact_search(filterset.qs, search)
    return contacts.order_by(*ordering_resolve(ordering)).prefetch_related(tags_prefetch())


def list_params_check(params, *, field: str) -> None:
    """Refuse, naming `field`, a parameter that is neither one of the list's filters nor the search:
    where filters choose what a bulk action or an export covers, a misspelt one must not widen it to
    every contact (the list itself just ignores it)."""
    unknown = sorted(set(params) - {*ContactFilter.base_filters, SEARCH_PARAM})
    if unknown:
        raise ValidationError({field: [f"Unknown parameter {unknown[0]!r}."]})


def params_querydict(params) -> QueryDict:
    """A QueryDict as is; a dict as the query string it stands for, a list value as a repeated
    parameter: {"stage": ["lead", "mql"], "score_min": 10} is ?stage=lead&stage=mql&score_min=10."""
    if isinstance(params, QueryDict):
        return params
    query = QueryDict(mutable=True)
    for key, value in params.items():
        query.setlist(key, [str(item) for item in value] if isinstance(value, list | tuple) else [str(value)])
    return query


def tags_prefetch() -> Prefetch:
    """A contact's tags as they are shown: by name, whatever its case."""
    return Prefetch("tags", queryset=Tag.objects.order_by(Lower("name"), "id"))


def contact_search(contacts: QuerySet[Contact], text: str) -> QuerySet[Contact]:
    """Every word must match the email, first name, last name or phone. A phone number is matched by
    its digits, however it is typed: "(415) 555-0132" finds +14155550132."""
    text = " ".join(str(text or "").split())
    if not text:
        return contacts
    if len(text) > SEARCH_MAX:
        raise ValidationError({"search": [f"At most {SEARCH_MAX} characters."]})
    digits = _PHONE_PUNCTUATION.sub("", text)
    if digits.isdigit() and len(digits) >= _PHONE_MIN_DIGITS:
        return contacts.filter(Q(phone__contains=digits) | Q(email__icontains=text))
    for word in text.split():
        contacts = contacts.filter(
            Q(email__icontains=word) | Q(first_name__icontains=word) | Q(last_name__icontains=word)
        )
    return contacts


def ordering_resolve(ordering: str) -> list:
    """?ordering= as order_by() arguments, with the id as the tie-breaker so pages never overlap."""
    terms = [term.strip() for term in str(ordering or "").split(",") if term.strip()] or [DEFAULT_ORDERING]
    order, seen = [], set()
    for term in terms:
        name = term.removeprefix("-")
        if name not in ORDERING_FIELDS:
            raise ValidationError({"ordering": [f"{term!r}: order by one of {', '.join(ORDERING_FIELDS)}."]})
        if name in seen:
            continue
        seen.add(name)
        if Contact._meta.get_field(name).null:
            # Contacts that never did anything sort last either way, not first.
            order.append(F(name).desc(nulls_last=True) if term.startswith("-") else F(name).asc(nulls_last=True))
        else:
            # Plain terms, so an index on the column (in its own direction) can serve the order.
            order.append(term)
    descending = terms[0].startswith("-")
    order.append("-id" if descending else "id")
    return order


def contact_in_workspace(*, workspace, contact_id: int, field: str = "contact") -> Contact:
    """The workspace's contact with this id; ValidationError on `field` when it has none (a preview
    or a test run asked for someone who isn't there)."""
    contact = Contact.objects.for_workspace(workspace).filter(pk=contact_id).first()
    if contact is None:
        raise ValidationError({field: [f"No contact with id {contact_id} in this workspace."]})
    return contact
