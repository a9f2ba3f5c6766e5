from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

admin.site.site_header = _("Charging back office")
admin.site.site_title = _("Charging back office")
admin.site.index_title = _("Operations")

urlpatterns = [
    # The second factor's code and enrolment pages (accounts/twofactor/), before the admin's own URLs: the admin
    # opens only once they are done.
    path("admin/2fa/", include("accounts.twofactor.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("integrations/", include("integrations.urls")),
    # The 2017 pile-operator interface partners call (integrations/partner/).
    path("api/partner/v1/", include("integrations.partner.urls")),
    # The OpenAPI schema of every endpoint and its Swagger UI, public (SPECTACULAR_SETTINGS).
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own (?script): the page has no inline
    # script, as the content security policy wants.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]
