"""The CRM's settings pages: custom fields, and lead scoring rules with score decay."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import Perm
from accounts.views import dashboard_view, render_page, require, run_action, submit
from crm.forms import CustomFieldForm, ScoringRuleForm, ScoringSettingsForm
from crm.models import ActivityKind, CustomField, ScoringRule
from crm.selectors import dashboard as selectors
from crm.selectors.scoring import scoring_settings_get
from crm.services.scoring import (
    scoring_rule_create,
    scoring_rule_delete,
    scoring_rule_update,
    scoring_settings_update,
)
from crm.services.taxonomy import custom_field_create, custom_field_delete, custom_field_update
from crm.views import workspace_object_or_404

_KIND_LABELS = dict(ActivityKind.choices)


def _disable(form) -> None:
    for field in form.fields.values():
        field.disabled = True


# --- Custom fields ------------------------------------------------------------------------------------


@dashboard_view(Perm.READ)
@require_http_methods(["GET", "POST"])
def custom_field_list(request, access):
    form = None
    if request.method == "POST":
        require(access, Perm.WRITE_CONTENT)
        form = CustomFieldForm(request.POST)
        created = submit(form, lambda _: custom_field_create(workspace=access.workspace, **form.service_data()))
        if created is not None:
            messages.success(request, f"Custom field “{created.label}” added.")
            return redirect("dashboard:contacts-fields")
    elif access.can(Perm.WRITE_CONTENT):
        form = CustomFieldForm()
    context = {
        "tab": "fields",
        "fields": selectors.custom_field_list_with_usage(workspace=access.workspace),
        "form": form,
    }
    return render_page(request, access, "crm/fields.html", context)


@dashboard_view(Perm.READ)
@require_http_methods(["GET", "POST"])
def custom_field_edit(request, access, pk: int):
    field = workspace_object_or_404(CustomField, access, pk)
    if request.method == "POST":
        require(access, Perm.WRITE_CONTENT)
        form = CustomFieldForm(request.POST, field=field)
        updated = submit(form, lambda _: custom_field_update(field=field, **form.service_data()))
        if updated is not None:
            messages.success(request, f"Custom field “{updated.label}” saved.")
            return redirect("dashboard:contacts-fields")
    else:
        form = CustomFieldForm(field=field)
        if not access.can(Perm.WRITE_CONTENT):
            _disable(form)
    return render_page(request, access, "crm/field_edit.html", {"tab": "fields", "field": field, "form": form})


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def custom_field_remove(request, access, pk: int):
    field = workspace_object_or_404(CustomField, access, pk)
    run_action(
        request,
        lambda: custom_field_delete(field=field),
        f"Custom field “{field.label}” deleted, with its values.",
    )
    return redirect("dashboard:contacts-fields")


# --- Scoring --------------------------------------------------------------------------------------------


def _scoring_page(request, access, *, rule_form=None, settings_form=None, status=200):
    can_write = access.can(Perm.WRITE_CONTENT)
    forms_choices = selectors.form_choices(workspace=access.workspace)
    form_names = dict(forms_choices)
    rules = list(ScoringRule.objects.for_workspace(access.workspace).order_by("name", "id"))
    for rule in rules:
        rule.event_label = _KIND_LABELS.get(rule.event_type, rule.event_type).lower()
        ref = (rule.conditions or {}).get("ref")
        rule.condition_label = form_names.get(ref, ref) if ref else ""
    current = scoring_settings_get(workspace=access.workspace)
    if settings_form is None:
        settings_form = ScoringSettingsForm(
            initial={
                "decay_enabled": current.decay_enabled,
                "decay_after_days": current.decay_after_days,
                "decay_points": current.decay_points,
            }
        )
        if not can_write:
            _disable(settings_form)
    context = {
        "tab": "scoring",
        "rules": rules,
        "rule_form": rule_form or (ScoringRuleForm(forms_choices=forms_choices) if can_write else None),
        "settings_form": settings_form,
    }
    return render_page(request, access, "crm/scoring.html", context, status=status)


@dashboard_view(Perm.READ)
@require_http_methods(["GET", "POST"])
def scoring(request, access):
    if request.method == "GET":
        return _scoring_page(request, access)
    require(access, Perm.WRITE_CONTENT)
    form = ScoringRuleForm(request.POST, forms_choices=selectors.form_choices(workspace=access.workspace))
    created = submit(form, lambda _: scoring_rule_create(workspace=access.workspace, **form.service_data()))
    if created is None:
        return _scoring_page(request, access, rule_form=form)
    messages.success(request, f"Scoring rule “{created.name}” added. It scores activity from now on.")
    return redirect("dashboard:contacts-scoring")


@dashboard_view(Perm.READ)
@require_http_methods(["GET", "POST"])
def scoring_rule_edit(request, access, pk: int):
    rule = workspace_object_or_404(ScoringRule, access, pk)
    forms_choices = selectors.form_choices(workspace=access.workspace)
    if request.method == "POST":
        require(access, Perm.WRITE_CONTENT)
        form = ScoringRuleForm(request.POST, forms_choices=forms_choices, rule=rule)
        updated = submit(form, lambda _: scoring_rule_update(rule=rule, **form.service_data()))
        if updated is not None:
            messages.success(request, f"Scoring rule “{updated.name}” saved.")
            return redirect("dashboard:contacts-scoring")
    else:
        form = ScoringRuleForm(forms_choices=forms_choices, rule=rule)
        if not access.can(Perm.WRITE_CONTENT):
            _disable(form)
    return render_page(request, access, "crm/scoring_rule_edit.html", {"tab": "scoring", "rule": rule, "form": form})


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def scoring_rule_remove(request, access, pk: int):
    rule = workspace_object_or_404(ScoringRule, access, pk)
    scoring_rule_delete(rule=rule)
    messages.success(request, f"Scoring rule “{rule.name}” deleted; the points it gave stay.")
    return redirect("dashboard:contacts-scoring")


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def scoring_decay(request, access):
    form = ScoringSettingsForm(request.POST)
    saved = submit(form, lambda data: scoring_settings_update(workspace=access.workspace, **data))
    if saved is None:
        return _scoring_page(request, access, settings_form=form)
    messages.success(request, "Score decay saved.")
    return redirect("dashboard:contacts-scoring")
