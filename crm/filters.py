"""The contact list's filters, shared by the API, the dashboard and bulk actions.

`ContactFilter(data, queryset=..., workspace=...)` takes a plain dict or a QueryDict (request.GET,
request.query_params). A bad value makes the form invalid with the parameter's name as the error
key, which the API answers as a 400 naming it. Filters that resolve names or ids (tags, and more to
come) look them up in `workspace` only.
"""

import datetime
import zoneinfo

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Exists, OuterRef, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.models import Contact, ContactSource, ContactStatus, ContactTag, LifecycleStage, Segment, Tag
from crm.segments import rules_q

#: Scores are 32-bit integers in the database; a bound outside that range is a bad value, not an overflow.
SCORE_BOUNDS = {"min_value": -(2**31), "max_value": 2**31 - 1}
#: Dates outside this range are typing mistakes, and near year 1 or 9999 a midnight in the
#: workspace's time zone would not convert to UTC.
DATE_VALIDATORS = [MinValueValidator(datetime.date(1900, 1, 1)), MaxValueValidator(datetime.date(2999, 12, 31))]
_TAG_ID_DIGITS = 18  # longer digit strings can only be names: ids are 64-bit


class MultipleValueCharField(forms.Field):
    """A repeatable text parameter (`?tag=a&tag=b`): a list of non-empty strings."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, max_length: int, max_values: int = 20, **kwargs):
        self.max_length, self.max_values = max_length, max_values
        super().__init__(**kwargs)

    def to_python(self, value) -> list[str]:
        if value in self.empty_values:
            return []
        values = [value] if isinstance(value, str) else list(value)
        cleaned = [" ".join(str(item).split()) for item in values]
        cleaned = [item for item in cleaned if item]
        if len(cleaned) > self.max_values:
            raise forms.ValidationError(f"At most {self.max_values} values.")
        for item in cleaned:
            if len(item) > self.max_length:
                raise forms.ValidationError(f"{item[:20]!r}… is longer than {self.max_length} characters.")
        return cleaned


@extend_schema_field(serializers.ListField(child=serializers.CharField()))
class TagsFilter(django_filters.Filter):
    field_class = MultipleValueCharField


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class ContactFilter(django_filters.FilterSet):
    tag = TagsFilter(
        method="filter_tags",
        max_length=Tag._meta.get_field("name").max_length,
        help_text="A tag's id or name (any case); repeat it for contacts that have all of them.",
    )
    segment = django_filters.ModelChoiceFilter(
        queryset=Segment.objects.none(),
        method="filter_segment",
        help_text="Only the contacts in this segment (its id).",
    )
    stage = django_filters.MultipleChoiceFilter(
        choices=LifecycleStage.choices, distinct=False, help_text="Repeat for any of several stages."
    )
    status = django_filters.MultipleChoiceFilter(
        choices=ContactStatus.choices, distinct=False, help_text="Repeat for any of several statuses."
    )
    source = django_filters.MultipleChoiceFilter(
        choices=ContactSource.choices, distinct=False, help_text="Repeat for any of several sources."
    )
    score_min = IntegerFilter(field_name="score", lookup_expr="gte", help_text="Score at least this.", **SCORE_BOUNDS)
    score_max = IntegerFilter(field_name="score", lookup_expr="lte", help_text="Score at most this.", **SCORE_BOUNDS)
    created_after = django_filters.DateFilter(
        method="filter_created",
        validators=DATE_VALIDATORS,
        help_text="Created on or after this day (YYYY-MM-DD, in the workspace's time zone).",
    )
    created_before = django_filters.DateFilter(
        method="filter_created",
        validators=DATE_VALIDATORS,
        help_text="Created before this day (YYYY-MM-DD, in the workspace's time zone); the day itself is excluded.",
    )

    class Meta:
        model = Contact
        fields = []

    def __init__(self, data=None, queryset=None, *, workspace, request=None, prefix=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.workspace = workspace
        self.filters["segment"].queryset = Segment.objects.for_workspace(workspace)

    def filter_tags(self, queryset, name, values: list[str]):
        matches = Q()
        for value in values:
            matches |= Q(name__iexact=value)
            if value.isdigit() and len(value) <= _TAG_ID_DIGITS:
                # A tag may well be called "2024": the value matches an id or a name.
                matches |= Q(pk=int(value))
        # Resolved first, in one query: with the ids as constants the planner knows how common each
        # tag is, and walks the newest contacts probing their tags instead of joining every tagged one.
        found = list(Tag.objects.for_workspace(self.workspace).filter(matches).values_list("pk", "name"))
        for value in values:
            ids = [pk for pk, tag_name in found if tag_name.lower() == value.lower() or str(pk) == value]
            if not ids:
                return queryset.none()
            queryset = queryset.filter(Exists(ContactTag.objects.filter(contact_id=OuterRef("pk"), tag_id__in=ids)))
        return queryset

    @extend_schema_field(OpenApiTypes.INT)
    def filter_segment(self, queryset, name, segment: Segment):
        try:
            return queryset.filter(rules_q(workspace=self.workspace, rules=segment.rules))
        except ValidationError as exc:  # a tag or custom field it names was deleted since
            message = f"The segment {segment.name!r} has a rule to fix: {' '.join(exc.messages)}"
            raise ValidationError({"segment": [message]}) from None

    def filter_created(self, queryset, name, day: datetime.date):
        midnight = datetime.datetime.combine(day, datetime.time.min, tzinfo=self._timezone())
        lookup = "created_at__gte" if name == "created_after" else "created_at__lt"
        return queryset.filter(**{lookup: midnight})

    def _timezone(self) -> datetime.tzinfo:
        try:
            return zoneinfo.ZoneInfo(self.workspace.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return datetime.UTC
