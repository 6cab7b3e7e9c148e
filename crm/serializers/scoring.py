"""Lead scoring API shapes. Rules are checked whole by crm.services.scoring (conditions by their path);
the serializers only check types."""

from rest_framework import serializers

from crm.models import ActivityKind, ScorePeriod, ScoreReason, ScoringRule, ScoringSettings

CONDITIONS_HELP = (
    'Optional narrowing, all must hold: {"ref": "<form component id>"}, {"data.form_type": "newsletter"}, '
    '{"data.answers.plan": ["pro", "team"]}. Values match as text, ignoring case.'
)


class ScoringRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScoringRule
        fields = [
            "id",
            "name",
            "event_type",
            "conditions",
            "points",
            "cap_points",
            "cap_period",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields


class ScoringRuleWriteSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True)
    event_type = serializers.ChoiceField(choices=ActivityKind.choices, required=False)
    conditions = serializers.JSONField(required=False, help_text=CONDITIONS_HELP)
    points = serializers.IntegerField(required=False, help_text="Added when the rule applies; negative to take away.")
    cap_points = serializers.IntegerField(
        required=False, allow_null=True, help_text="At most this many points per contact per cap_period."
    )
    cap_period = serializers.ChoiceField(choices=ScorePeriod.choices, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class ScoringRuleCreateSerializer(ScoringRuleWriteSerializer):
    name = serializers.CharField(allow_blank=True)
    event_type = serializers.ChoiceField(choices=ActivityKind.choices)
    points = serializers.IntegerField(help_text="Added when the rule applies; negative to take away.")


class ScoringSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScoringSettings
        fields = ["decay_enabled", "decay_after_days", "decay_points"]
        extra_kwargs = {
            "decay_after_days": {"help_text": "Days without activity before a score decays, and between decays."},
            "decay_points": {"help_text": "Points taken at each decay; a score never goes below zero."},
        }


class ScoreAdjustSerializer(serializers.Serializer):
    points = serializers.IntegerField(help_text="Added to the score; negative to take away. Never below zero.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ScoreSummarySerializer(serializers.Serializer):
    points = serializers.IntegerField()
    count = serializers.IntegerField()
    last_at = serializers.DateTimeField(allow_null=True)


class ScoreByRuleSerializer(ScoreSummarySerializer):
    rule_id = serializers.IntegerField(allow_null=True, help_text="Null when the rule was deleted since.")
    rule_name = serializers.CharField()


class ScoreChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    points = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=ScoreReason.choices)
    rule_id = serializers.IntegerField(allow_null=True)
    rule_name = serializers.CharField(help_text="The rule's name when it applied.")
    activity_kind = serializers.ChoiceField(
        choices=ActivityKind.choices, allow_null=True, help_text="What triggered a rule; score_changed otherwise."
    )
    note = serializers.CharField(help_text="Why a change by hand was made.")


class ScoreExplanationSerializer(serializers.Serializer):
    score = serializers.IntegerField()
    total_from_changes = serializers.IntegerField(help_text="The sum of every change: equal to the score.")
    by_rule = ScoreByRuleSerializer(many=True)
    decay = ScoreSummarySerializer()
    manual = ScoreSummarySerializer()
    changes = ScoreChangeSerializer(many=True, help_text="The latest 50, newest first.")
