"""Lead scoring: workspace rules turn activities into points."""

from crm.models import ContactActivity


def score_activity(*, activity: ContactActivity) -> int:
    """Apply the workspace's scoring rules to a new activity; returns the points added."""
    return 0
