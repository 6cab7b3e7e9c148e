"""API shapes of campaigns, senders, sending settings, the ledger and suppressions. Serializers check
types; the services check the rest (limits, ids in the workspace, templates), naming each field."""

from rest_framework import serializers

from campaigns.models import (
    AbMetric,
    Campaign,
    EmailSend,
    Sender,
    SendingSettings,
)
from campaigns.selectors import rate
from core.ids import ID_MAX
from crm.models import Contact
from crm.services.gdpr import REASON_MAX, SUPPRESSED

AUDIENCE_HELP = (
    '{"segments": [id…], "tags": [id…], "exclude_segments": [id…], "exclude_tags": [id…]}: the sendable contacts '
    "in any of the segments or with any of the tags (everyone sendable when neither is given), minus the excluded."
)


def _id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=ID_MAX, **kwargs)


class WorkspaceTimeMixin:
    """`scheduled_at` read and written in the workspace's time zone (the view passes it as `zone`):
    a time given without an offset is in that zone, and times come back with its offset."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zone = self.context.get("zone")
        if zone is not None and "scheduled_at" in self.fields:
            self.fields["scheduled_at"].timezone = zone


class SenderSerializer(serializers.ModelSerializer):
    is_verified = serializers.BooleanField(read_only=True)

    class Meta:
        model = Sender
        fields = [
            "id",
            "from_name",
            "from_email",
            "reply_to",
            "status",
            "is_verified",
            "verification_sent_at",
            "verified_at",
            "created_at",
        ]
        read_only_fields = fields


class SenderWriteSerializer(serializers.Serializer):
    """Validated with partial=True for PATCH. A new from_email needs verifying again."""

    from_name = serializers.CharField(max_length=200, help_text="Shown in the inbox before the subject.")
    from_email = serializers.CharField(max_length=300)
    reply_to = serializers.CharField(max_length=300, required=False, allow_blank=True)


class SendingSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = SendingSettings
        fields = ["postal_address", "track_opens", "track_clicks", "rate_per_minute", "updated_at"]
        read_only_fields = ["updated_at"]
        extra_kwargs = {
            "postal_address": {
                "help_text": "Printed in every marketing email's footer; no campaign goes out without it."
            },
            "track_opens": {"help_text": "Per-recipient open tracking (some countries' consent rules want it off)."},
            "rate_per_minute": {"help_text": "Messages per minute this workspace may send, across all workers."},
        }


class SenderBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sender
        fields = ["id", "from_name", "from_email", "status"]
        read_only_fields = fields


class CampaignFiguresSerializer(serializers.Serializer):
    sent = serializers.IntegerField(source="sent_count", help_text="Messages handed to the backend.")
    unique_opens = serializers.IntegerField(source="unique_open_count")
    unique_clicks = serializers.IntegerField(source="unique_click_count")
    bounces = serializers.IntegerField(source="bounce_count")
    open_rate = serializers.SerializerMethodField(help_text="Unique opens over messages not bounced, from 0 to 1.")
    click_rate = serializers.SerializerMethodField(help_text="Unique clicks over messages not bounced, from 0 to 1.")

    def get_open_rate(self, campaign) -> float:
        return rate(campaign.unique_open_count, campaign.reached_count)

    def get_click_rate(self, campaign) -> float:
        return rate(campaign.unique_click_count, campaign.reached_count)


class CampaignSerializer(WorkspaceTimeMixin, serializers.ModelSerializer):
    sender_detail = SenderBriefSerializer(source="sender", read_only=True, allow_null=True)
    figures = CampaignFiguresSerializer(source="*", read_only=True)
    timezone = serializers.SerializerMethodField(help_text="The workspace's time zone, scheduled_at's offset.")

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "subject",
            "preheader",
            "sender",
            "sender_detail",
            "content",
            "audience",
            "status",
            "scheduled_at",
            "timezone",
            "subject_b",
            "ab_test_percent",
            "ab_metric",
            "ab_wait_minutes",
            "ab_decide_at",
            "ab_winner",
            "recipients",
            "started_at",
            "finished_at",
            "figures",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_timezone(self, campaign) -> str:
        zone = self.context.get("zone")
        return zone.key if zone is not None else "UTC"


class CampaignWriteSerializer(serializers.Serializer):
    """Every field optional (PATCH); CampaignCreateSerializer requires the name (POST, PUT)."""

    name = serializers.CharField(max_length=400, required=False)
    subject = serializers.CharField(
        max_length=600, required=False, allow_blank=True, help_text='May personalise: "Hi {{ contact.first_name }}".'
    )
    preheader = serializers.CharField(max_length=400, required=False, allow_blank=True)
    sender = _id_field(required=False, allow_null=True, help_text="A sender of this workspace (its id).")
    content = serializers.JSONField(required=False, help_text='{"blocks": [...]}; see the block types.')
    audience = serializers.JSONField(required=False, help_text=AUDIENCE_HELP)
    subject_b = serializers.CharField(
        max_length=600, required=False, allow_blank=True, help_text="The A/B test's second subject."
    )
    ab_test_percent = serializers.IntegerField(
        required=False, help_text="Share of the audience (0 to 50%) split between the two subjects; 0 for no test."
    )
    ab_metric = serializers.ChoiceField(choices=AbMetric.choices, required=False)
    ab_wait_minutes = serializers.IntegerField(
        required=False, help_text="How long after the start the winner is picked and sent to the rest."
    )


class CampaignCreateSerializer(CampaignWriteSerializer):
    name = serializers.CharField(max_length=400)


class ScheduleSerializer(WorkspaceTimeMixin, serializers.Serializer):
    scheduled_at = serializers.DateTimeField(
        help_text="ISO 8601; without an offset it is read in the workspace's time zone. In the future."
    )


class TestSendSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254, help_text="Where the test goes; any address.")


class TestSendResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The ledger row (email-sends/{id}/).")
    to_email = serializers.CharField()
    subject = serializers.CharField()
    status = serializers.CharField()


class AudienceSerializer(serializers.Serializer):
    audience = serializers.JSONField(required=False, help_text=AUDIENCE_HELP + " Without it: everyone sendable.")


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class PreviewQuerySerializer(serializers.Serializer):
    contact = _id_field(required=False, help_text="Render for this contact (its id); a sample contact without.")


class RenderedSerializer(serializers.Serializer):
    subject = serializers.CharField()
    html = serializers.CharField()
    text = serializers.CharField()


class ProgressSerializer(serializers.Serializer):
    status = serializers.CharField()
    recipients = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Ledger rows by status.")
    sent = serializers.IntegerField()
    done = serializers.IntegerField()
    pending = serializers.IntegerField()
    waiting_for_winner = serializers.IntegerField(help_text="Rows held back until the A/B winner is known.")
    percent = serializers.FloatField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    ab_decide_at = serializers.DateTimeField(allow_null=True)
    ab_winner = serializers.CharField(allow_blank=True)


class FiguresSerializer(serializers.Serializer):
    recipients = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    unique_opens = serializers.IntegerField()
    unique_clicks = serializers.IntegerField()
    opens = serializers.IntegerField()
    machine_opens = serializers.IntegerField(help_text="Pixel fetches by proxies and scanners, not in the rates.")
    clicks = serializers.IntegerField()
    bounces = serializers.IntegerField()
    complaints = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    open_rate = serializers.FloatField(help_text="Unique opens over messages not bounced, from 0 to 1.")
    click_rate = serializers.FloatField(help_text="Unique clicks over messages not bounced (CTR), from 0 to 1.")
    click_to_open_rate = serializers.FloatField(help_text="Unique clicks over unique opens, from 0 to 1.")


class VariantFiguresSerializer(FiguresSerializer):
    subject = serializers.CharField()


class AbStatsSerializer(serializers.Serializer):
    metric = serializers.CharField()
    decide_at = serializers.DateTimeField(allow_null=True)
    winner = serializers.CharField(allow_blank=True)
    variants = serializers.DictField(child=VariantFiguresSerializer(), help_text='"a" and "b".')


class LinkStatsSerializer(serializers.Serializer):
    url = serializers.CharField()
    clicks = serializers.IntegerField()
    unique_clicks = serializers.IntegerField()


class TimelineBucketSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    period = serializers.ChoiceField(choices=["hour", "day"])
    opens = serializers.IntegerField()
    clicks = serializers.IntegerField()


class StatsSerializer(FiguresSerializer):
    unsubscribes = serializers.IntegerField()
    unsubscribe_rate = serializers.FloatField()
    links = LinkStatsSerializer(many=True)
    timeline = TimelineBucketSerializer(many=True, help_text="Hourly for 48 hours after the start, then daily.")
    ab = AbStatsSerializer(allow_null=True)


class EmailSendSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmailSend
        fields = [
            "id",
            "kind",
            "contact",
            "campaign",
            "ref",
            "variant",
            "idempotency_key",
            "from_email",
            "to_email",
            "subject",
            "status",
            "attempts",
            "error",
            "message_id",
            "queued_at",
            "sent_at",
            "delivered_at",
            "first_opened_at",
            "first_clicked_at",
            "open_count",
            "machine_open_count",
            "click_count",
        ]
        read_only_fields = fields


class SuppressionSerializer(serializers.ModelSerializer):
    reason = serializers.CharField(source="status", read_only=True, help_text="unsubscribed, bounced or complained.")

    class Meta:
        model = Contact
        fields = ["id", "email", "first_name", "last_name", "reason", "updated_at"]
        read_only_fields = fields


class SuppressionCreateSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=400, help_text="A contact is created for an address not yet known.")
    reason = serializers.ChoiceField(choices=list(SUPPRESSED), default=SUPPRESSED[0])
    note = serializers.CharField(max_length=REASON_MAX, required=False, allow_blank=True)
