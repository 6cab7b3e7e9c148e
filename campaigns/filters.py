"""Filters of the campaign, ledger and suppression lists. A bad value is a 400 naming the parameter;
ids (campaign, contact) are looked up in the request's workspace only."""

import django_filters
from django_filters.rest_framework import DjangoFilterBackend

from campaigns.models import Campaign, CampaignStatus, EmailSend, SendKind, SendStatus
from crm.models import Contact, ContactStatus
from crm.services.gdpr import SUPPRESSED


class WorkspaceFilterBackend(DjangoFilterBackend):
    """Hands the view's workspace to the filter set, which scopes the ids it accepts by it."""

    def get_filterset_kwargs(self, request, queryset, view) -> dict:
        return {**super().get_filterset_kwargs(request, queryset, view), "workspace": view.workspace}


class CampaignFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=CampaignStatus.choices, distinct=False, help_text="Repeat for any of several statuses."
    )

    class Meta:
        model = Campaign
        fields = []


class EmailSendFilter(django_filters.FilterSet):
    campaign = django_filters.ModelChoiceFilter(queryset=Campaign.objects.none(), help_text="A campaign's id.")
    contact = django_filters.ModelChoiceFilter(queryset=Contact.objects.none(), help_text="A contact's id.")
    status = django_filters.MultipleChoiceFilter(
        choices=SendStatus.choices, distinct=False, help_text="Repeat for any of several statuses."
    )
    kind = django_filters.MultipleChoiceFilter(
        choices=SendKind.choices, distinct=False, help_text="Repeat for any of several kinds."
    )

    class Meta:
        model = EmailSend
        fields = []

    def __init__(self, data=None, queryset=None, *, workspace, request=None, prefix=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.filters["campaign"].queryset = Campaign.objects.for_workspace(workspace)
        self.filters["contact"].queryset = Contact.objects.for_workspace(workspace)


class SuppressionFilter(django_filters.FilterSet):
    reason = django_filters.MultipleChoiceFilter(
        field_name="status",
        choices=[(status.value, status.label) for status in map(ContactStatus, SUPPRESSED)],
        distinct=False,
        help_text="unsubscribed, bounced or complained; repeat for several.",
    )

    class Meta:
        model = Contact
        fields = []
