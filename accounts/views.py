from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def _stub(request, *args, **kwargs):
    return HttpResponse("todo")


settings_general = settings_members = member_role = member_remove = invitation_create = invitation_revoke = _stub
settings_api_keys = api_key_revoke = settings_audit_log = workspace_new = workspace_switch = invitation_accept = _stub
