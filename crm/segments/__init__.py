"""Segments: rule trees over contacts (crm.segments.rules) compiled into one query
(crm.segments.compiler)."""

import datetime

from django.db.models import Q

from crm.segments.compiler import Compiler
from crm.segments.rules import RulesContext, rules_clean

__all__ = ["rules_clean", "rules_q"]


def rules_q(*, workspace, rules, now: datetime.datetime | None = None) -> Q:
    """The Q selecting the workspace's contacts that match `rules` (filter the workspace's contacts
    with it). Rules are checked first, so a stored segment whose tag or custom field has since been
    deleted raises ValidationError naming the rule instead of quietly matching no one."""
    context = RulesContext(workspace=workspace)
    tree = rules_clean(workspace=workspace, rules=rules, context=context)
    return Compiler(context, now).group(tree) or Q()
