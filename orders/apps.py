from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from backoffice.partitions import partition_register

        partition_register(label="orders.OrderSample", column="received_at", retention_setting="SAMPLES_RETENTION_DAYS")
