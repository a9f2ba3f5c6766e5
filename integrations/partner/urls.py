"""The 2017 interface's URLs, mounted at /api/partner/v1/ (config/urls.py): the spec's interface names as paths."""

from django.urls import path

from . import views

INTERFACES = (views.GetToken, views.SyncStubGroupInfo, views.SyncStubInfo, views.GetOrderInfo,
              views.CheckChargeOrders, views.ChargeStart, views.ChargeStop)

urlpatterns = [
    *(path(view.interface, view.as_view(), name=f"partner_{view.interface}") for view in INTERFACES),
    path("<path:name>", views.UnknownInterface.as_view(), name="partner_unknown"),
    path("", views.UnknownInterface.as_view(), {"name": ""}, name="partner_root"),
]
