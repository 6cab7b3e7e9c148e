"""Tenant rows: every one belongs to a workspace and is read through a workspace-scoped queryset."""

from django.db import models


class TenantQuerySet(models.QuerySet):
    def for_workspace(self, workspace) -> "TenantQuerySet":
        return self.filter(workspace=workspace)


class TenantModel(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True
