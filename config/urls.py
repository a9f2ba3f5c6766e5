from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

admin.site.site_header = _("Charging back office")
admin.site.site_title = _("Charging back office")
admin.site.index_title = _("Operations")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("integrations/", include("integrations.urls")),
    # The 2017 pile-operator interface partners call (integrations/partner/).
    path("api/partner/v1/", include("integrations.partner.urls")),
    # The OpenAPI schema of every endpoint and its Swagger UI, public (SPECTACULAR_SETTINGS).
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
