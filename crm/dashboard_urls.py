"""The CRM's dashboard pages, included under /contacts/ in the dashboard's namespace. Every name
contains "contacts", so the sidebar marks the section as current on all of them."""

from django.urls import path

from crm.views import contact, contacts, imports, segments, settings

urlpatterns = [
    path("", contacts.contact_list_view, name="contacts"),
    path("new/", contact.contact_new, name="contacts-new"),
    path("bulk/", contacts.contact_bulk, name="contacts-bulk"),
    path("export/", contacts.contact_export, name="contacts-export"),
    path("exports/<int:pk>/download/", contacts.contact_export_download, name="contacts-export-download"),
    path("<int:pk>/", contact.contact_detail, name="contacts-detail"),
    path("<int:pk>/tags/", contact.contact_tag_add, name="contacts-tag-add"),
    path("<int:pk>/tags/<int:tag_pk>/remove/", contact.contact_tag_remove, name="contacts-tag-remove"),
    path("<int:pk>/notes/", contact.contact_note, name="contacts-note"),
    path("<int:pk>/score/", contact.contact_score, name="contacts-score"),
    path("<int:pk>/data.json", contact.contact_data_download, name="contacts-data"),
    path("<int:pk>/erase/", contact.contact_erase_view, name="contacts-erase"),
    path("imports/", imports.import_list, name="contacts-imports"),
    path("imports/new/", imports.import_new, name="contacts-import-new"),
    path("imports/<int:pk>/", imports.import_detail, name="contacts-import"),
    path("segments/", segments.segment_list, name="contacts-segments"),
    path("segments/new/", segments.segment_new, name="contacts-segment-new"),
    path("segments/<int:pk>/", segments.segment_detail, name="contacts-segment"),
    path("segments/<int:pk>/delete/", segments.segment_remove, name="contacts-segment-delete"),
    path("segments/<int:pk>/size/", segments.segment_size, name="contacts-segment-size"),
    path("fields/", settings.custom_field_list, name="contacts-fields"),
    path("fields/<int:pk>/", settings.custom_field_edit, name="contacts-field"),
    path("fields/<int:pk>/delete/", settings.custom_field_remove, name="contacts-field-delete"),
    path("scoring/", settings.scoring, name="contacts-scoring"),
    path("scoring/decay/", settings.scoring_decay, name="contacts-scoring-decay"),
    path("scoring/<int:pk>/", settings.scoring_rule_edit, name="contacts-scoring-rule"),
    path("scoring/<int:pk>/delete/", settings.scoring_rule_remove, name="contacts-scoring-rule-delete"),
]
