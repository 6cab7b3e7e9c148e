"""Filters of the workflow and execution lists. A bad value is a 400 naming the parameter; ids
(workflow, contact) are looked up in the request's workspace only (campaigns' WorkspaceFilterBackend
hands the filter set the workspace)."""

import datetime

import django_filters
from django import forms
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from crm.models import Contact
from workflows.models import Execution, ExecutionStatus, Workflow, WorkflowStatus

#: Earlier or later than this is a typing mistake, and near year 1 or 9999 a conversion between
#: time zones would overflow.
YEARS = (1900, 2999)


class MomentField(forms.Field):
    """An ISO 8601 date-time (with its offset, or read in the workspace's zone without one) or a
    bare date (its midnight in the workspace's zone). Left naive here: the filter set knows the zone."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        try:
            moment = parse_datetime(text) or parse_date(text)
        except ValueError:
            moment = None
        if moment is None:
            raise forms.ValidationError("Expected a date (YYYY-MM-DD) or a date-time (ISO 8601).")
        if not YEARS[0] <= moment.year <= YEARS[1]:
            raise forms.ValidationError(f"Expected a year from {YEARS[0]} to {YEARS[1]}.")
        return moment


@extend_schema_field(OpenApiTypes.DATETIME)
class MomentFilter(django_filters.Filter):
    field_class = MomentField


class WorkflowFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=WorkflowStatus.choices, distinct=False, help_text="Repeat for any of several statuses."
    )
    trigger_type = django_filters.CharFilter(help_text="The active version's trigger type, e.g. form_submitted.")

    class Meta:
        model = Workflow
        fields = []


class ExecutionFilter(django_filters.FilterSet):
    workflow = django_filters.ModelChoiceFilter(queryset=Workflow.objects.none(), help_text="A workflow's id.")
    contact = django_filters.ModelChoiceFilter(queryset=Contact.objects.none(), help_text="A contact's id.")
    status = django_filters.MultipleChoiceFilter(
        choices=ExecutionStatus.choices, distinct=False, help_text="Repeat for any of several statuses."
    )
    created_after = MomentFilter(
        method="filter_created",
        help_text="Started at or after this moment: a date-time, or a date (its midnight in the workspace's zone).",
    )
    created_before = MomentFilter(
        method="filter_created",
        help_text="Started before this moment: a date-time, or a date (its midnight in the workspace's zone).",
    )

    class Meta:
        model = Execution
        fields = []

    def __init__(self, data=None, queryset=None, *, workspace, request=None, prefix=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.workspace = workspace
        self.filters["workflow"].queryset = Workflow.objects.for_workspace(workspace)
        self.filters["contact"].queryset = Contact.objects.for_workspace(workspace)

    def filter_created(self, queryset, name, moment):
        if not isinstance(moment, datetime.datetime):
            moment = datetime.datetime.combine(moment, datetime.time.min)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.workspace.zone)
        lookup = "created_at__gte" if name == "created_after" else "created_at__lt"
        return queryset.filter(**{lookup: moment})
