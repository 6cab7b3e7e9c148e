"""GDPR API: `contacts/{id}/export/` downloads everything stored about a contact, `POST
contacts/{id}/erase/` removes it from everywhere. Both are in the audit log.

Exporting needs only READ: it shows nothing a viewer cannot already read through the API, in one
file. Erasing needs MANAGE_SETTINGS (admins and owners): unlike deleting a contact, which editors
may do, it cannot be undone and reaches past the CRM — form submissions, the event log, import
reports, exports and the audit log itself — so it is a data-protection decision, not an edit.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.roles import Perm
from core.api.viewsets import WorkspaceScopedViewSet
from core.request_context import client_ip
from crm.models import Contact
from crm.services.gdpr import contact_data_export, contact_erase


class ErasedSerializer(serializers.Serializer):
    erased = serializers.DictField(
        child=serializers.IntegerField(), help_text="How many rows of each kind were deleted or scrubbed."
    )


class ContactGdprViewSet(WorkspaceScopedViewSet):
    queryset = Contact.objects.all()
    action_permissions = {"export": Perm.READ, "erase": Perm.MANAGE_SETTINGS}

    @extend_schema(
        operation_id="contacts_export_retrieve",
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="A JSON file (an attachment): fields, tags, custom fields, activities, consents, "
                "score changes, form submissions and emails sent.",
            )
        },
    )
    def export(self, request, pk=None):
        contact = self.get_object()
        data = contact_data_export(contact=contact, actor=request.user, ip=client_ip(request))
        return Response(data, headers={"Content-Disposition": f'attachment; filename="contact-{contact.pk}.json"'})

    @extend_schema(operation_id="contacts_erase_create", request=OpenApiTypes.OBJECT, responses={200: ErasedSerializer})
    def erase(self, request, pk=None):
        counts = contact_erase(contact=self.get_object(), actor=request.user, ip=client_ip(request))
        return Response({"erased": counts})
