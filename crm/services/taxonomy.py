"""Defining the words contacts are described with: tags, and the workspace's custom fields.

A custom field's stored values must always fit its definition (segments compare them, imports and
the API check against it), so a change of type or options re-checks every stored value first: when
all of them fit they are rewritten in the new form, otherwise the change is refused with a 400 that
says how many contacts are in the way and shows one.
"""

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from crm.models import FIELD_KEY_REGEX, Contact, CustomField, CustomFieldType, Tag
from crm.services.fields import all_or_errors, custom_fields_clean
from crm.services.tags import tag_name_clean

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
OPTIONS_MAX = 200
OPTION_MAX_LENGTH = 100
#: Contacts rewritten per statement when a field's values change form or go.
BATCH = 1000


# --- Tags -------------------------------------------------------------------------------------------------


def _tag_name(workspace, name, *, exclude: int | None = None) -> str:
    try:
        name = tag_name_clean(name)
    except ValidationError as exc:
        raise ValidationError({"name": exc.message_dict["tags"]}) from None
    clash = Tag.objects.for_workspace(workspace).filter(name__iexact=name).exclude(pk=exclude).first()
    if clash is not None:
        raise ValidationError({"name": [f"There is already a tag called {clash.name!r} (id {clash.pk})."]})
    return name


def _color(color) -> str:
    color = str(color or "").strip()
    if color and not _COLOR.match(color):
        raise ValidationError({"color": [f"{color!r} is not a colour like #1a2b3c."]})
    return color.lower()


def _save_tag(tag: Tag) -> Tag:
    try:
        with transaction.atomic():
            tag.save()
    except IntegrityError:  # the same name, created concurrently since we checked
        raise ValidationError({"name": [f"There is already a tag called {tag.name!r}."]}) from None
    return tag


def tag_create(*, workspace, name: str, color: str = "") -> Tag:
    return _save_tag(Tag(workspace=workspace, name=_tag_name(workspace, name), color=_color(color)))


def tag_update(*, tag: Tag, name: str | None = None, color: str | None = None) -> Tag:
    """Rename or recolour. Contacts keep the tag; timelines keep the name it had when it was added."""
    if name is not None:
        tag.name = _tag_name(tag.workspace_id, name, exclude=tag.pk)
    if color is not None:
        tag.color = _color(color)
    return _save_tag(tag)


@transaction.atomic
def tag_delete(*, tag: Tag) -> None:
    """The tag goes from every contact at once. That is a change to the vocabulary, not to each
    contact: no tag.removed per contact, so deleting a tag can't set off a workflow on thousands."""
    tag.delete()


# --- Custom fields ----------------------------------------------------------------------------------------


def _key(workspace, key) -> str:
    key = str(key or "").strip()
    if not re.match(FIELD_KEY_REGEX, key):
        raise ValidationError(
            {"key": [f"{key!r}: lower-case letters, digits and underscores, starting with a letter, at most 63."]}
        )
    if CustomField.objects.for_workspace(workspace).filter(key=key).exists():
        raise ValidationError({"key": [f"There is already a field with the key {key!r}."]})
    return key


def _label(label) -> str:
    label = " ".join(str(label or "").split())
    limit = CustomField._meta.get_field("label").max_length
    if not label:
        raise ValidationError({"label": ["A field needs a label."]})
    if len(label) > limit:
        raise ValidationError({"label": [f"At most {limit} characters."]})
    return label


def _type_and_options(type_, options) -> tuple[str, list[str]]:
    if type_ not in CustomFieldType.values:
        raise ValidationError({"type": [f"{type_!r} is not one of: {', '.join(CustomFieldType.values)}."]})
    if type_ != CustomFieldType.SELECT:
        if options:
            raise ValidationError({"options": ["Only a select field has options."]})
        return type_, []
    if not isinstance(options, list | tuple) or not options:
        raise ValidationError({"options": ["A select field needs a list of options."]})
    cleaned, seen = [], set()
    for option in options:
        text = " ".join(str(option if option is not None else "").split())
        if not text or len(text) > OPTION_MAX_LENGTH:
            raise ValidationError({"options": [f"Each option is 1 to {OPTION_MAX_LENGTH} characters: {option!r}."]})
        # Values match options case-insensitively, so "Gold" and "gold" would be the same answer.
        if text.lower() in seen:
            raise ValidationError({"options": [f"{text!r} is listed twice."]})
        seen.add(text.lower())
        cleaned.append(text)
    if len(cleaned) > OPTIONS_MAX:
        raise ValidationError({"options": [f"At most {OPTIONS_MAX} options."]})
    return type_, cleaned


def _holders(field: CustomField):
    return Contact.objects.for_workspace(field.workspace_id).filter(custom_fields__has_key=field.key).order_by("pk")


def _convert_values(field: CustomField, blame: str) -> None:
    """Rewrite every stored value of `field` (already changed in memory) into its new form, or
    refuse naming `blame` when some value does not fit. Locks the holders while it works."""
    holders = _holders(field).select_for_update()
    misfits, example, rewrites = 0, None, []
    for contact in holders.only("pk", "custom_fields").iterator(chunk_size=BATCH):
        value = contact.custom_fields[field.key]
        try:
            new = custom_fields_clean(fields={field.key: field}, values={field.key: value})
        except ValidationError as exc:
            misfits += 1
            example = example or (contact.pk, value, exc.message_dict[f"custom_fields.{field.key}"][0])
            continue
        if new.get(field.key) != value:
            contact.custom_fields = {**contact.custom_fields, field.key: new.get(field.key)}
            if new.get(field.key) is None:  # stored empty: nothing to keep
                del contact.custom_fields[field.key]
            rewrites.append(contact)
    if misfits:
        pk, value, reason = example
        raise ValidationError(
            {
                blame: [
                    f"{misfits:,} contact(s) hold values that would not fit, e.g. contact {pk} has {value!r}: {reason} "
                    "Change or clear those values first."
                ]
            }
        )
    Contact.objects.bulk_update(rewrites, ["custom_fields"], batch_size=BATCH)


@transaction.atomic
def custom_field_create(
    *, workspace, key: str, label: str, type: str, options: list | None = None, order: int | None = None
) -> CustomField:
    key, label, (type, options) = all_or_errors(
        lambda: _key(workspace, key), lambda: _label(label), lambda: _type_and_options(type, options or [])
    )
    if order is None:
        order = CustomField.objects.for_workspace(workspace).count()
    try:
        with transaction.atomic():
            return CustomField.objects.create(
                workspace=workspace, key=key, label=label, type=type, options=options, order=order
            )
    except IntegrityError:
        raise ValidationError({"key": [f"There is already a field with the key {key!r}."]}) from None


@transaction.atomic
def custom_field_update(
    *,
    field: CustomField,
    key: str | None = None,
    label: str | None = None,
    type: str | None = None,
    options: list | None = None,
    order: int | None = None,
) -> CustomField:
    """Relabel, reorder, or change the type or options. The key never changes: contacts' values,
    import mappings and segment rules refer to it."""
    field = CustomField.objects.select_for_update().get(pk=field.pk)
    if key is not None and key != field.key:
        raise ValidationError({"key": ["A field's key can't change; create a new field and move the values."]})
    new_type = field.type if type is None else type
    # Options given for a field that is no longer a select, or left out when it becomes one, are errors.
    new_options = options if options is not None else (field.options if new_type == CustomFieldType.SELECT else [])
    checks = [lambda: _type_and_options(new_type, new_options)]
    if label is not None:
        checks.append(lambda: _label(label))
    results = all_or_errors(*checks)
    before = (field.type, list(field.options))
    field.type, field.options = results[0]
    if label is not None:
        field.label = results[1]
    if order is not None:
        field.order = order
    if (field.type, field.options) != before:
        _convert_values(field, blame="type" if field.type != before[0] else "options")
    field.save()
    return field


@transaction.atomic
def custom_field_delete(*, field: CustomField) -> int:
    """The definition and every contact's value of it; returns how many contacts had one. A field
    created later with the same key starts empty rather than inheriting values of another meaning."""
    rewrites = []
    for contact in _holders(field).select_for_update().only("pk", "custom_fields").iterator(chunk_size=BATCH):
        contact.custom_fields = {k: v for k, v in contact.custom_fields.items() if k != field.key}
        rewrites.append(contact)
    Contact.objects.bulk_update(rewrites, ["custom_fields"], batch_size=BATCH)
    field.delete()
    return len(rewrites)
