from allauth.account.adapter import DefaultAccountAdapter

from accounts import services


class AccountAdapter(DefaultAccountAdapter):
    """Dashboard signups get their own workspace, like API registrations do."""

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            local_part = user.email.split("@")[0]
            services.workspace_create(owner=user, name=f"{local_part}'s workspace", ip=request.META.get("REMOTE_ADDR"))
        return user
