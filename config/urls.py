from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.api.errors import api_not_found

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("builder.urls")),
    path("", include("crm.urls")),
    path("", include("campaigns.urls")),
    path("", include("workflows.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", api_not_found),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("f/", include("builder.public_urls")),
    path("", include("campaigns.public_urls")),
    path("", include("workflows.public_urls")),
    path("", include("config.dashboard_urls")),
]

handler400 = "core.api.errors.handler400"
handler403 = "core.api.errors.handler403"
handler404 = "core.api.errors.handler404"
handler500 = "core.api.errors.handler500"
