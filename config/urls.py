from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("Charging back office")
admin.site.site_title = _("Charging back office")
admin.site.index_title = _("Operations")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("integrations/", include("integrations.urls")),
]
