"""What a template can say about a contact, and the catalog the editor's personalization helper shows."""

from crm.models import Contact, CustomFieldType
from crm.selectors.dashboard import custom_field_list

#: (key, label, example) of every contact's own fields.
STANDARD_FIELDS = (
    ("email", "Email", "ada@example.com"),
    ("first_name", "First name", "Ada"),
    ("last_name", "Last name", "Lovelace"),
    ("name", "Full name", "Ada Lovelace"),
    ("company", "Company", "Analytical Engines Ltd"),
    ("phone", "Phone", "+14155550123"),
    ("score", "Score", 42),
    ("stage", "Lifecycle stage", "customer"),
)
_STANDARD_KEYS = {key for key, _, _ in STANDARD_FIELDS}
_EXAMPLES = {
    CustomFieldType.TEXT: "Some text",
    CustomFieldType.NUMBER: 7,
    CustomFieldType.DATE: "2026-05-01",
    CustomFieldType.BOOLEAN: True,
}


def contact_context(contact: Contact) -> dict:
    """The contact as `contact` in a template: its fields, then its custom fields by key (a custom
    field can't shadow a standard one)."""
    return {
        **contact.custom_fields,
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "name": contact.name,
        "company": contact.company,
        "phone": contact.phone,
        "score": contact.score,
        "stage": contact.stage,
    }


def personalization_catalog(workspace) -> list[dict]:
    """[{key, label, example}]: what the editor offers to insert as `{{ key }}`."""
    custom = [
        {
            "key": f"contact.{field.key}",
            "label": field.label,
            "example": (field.options or [""])[0] if field.type == CustomFieldType.SELECT else _EXAMPLES[field.type],
        }
        for field in custom_field_list(workspace=workspace)
        if field.key not in _STANDARD_KEYS
    ]
    return [
        *({"key": f"contact.{key}", "label": label, "example": example} for key, label, example in STANDARD_FIELDS),
        *custom,
        {"key": "workspace.name", "label": "Workspace name", "example": workspace.name},
    ]
