from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from tariffs.models import TariffDetail, TariffTemplate
from tariffs.units import format_duration, format_fen, format_minute_of_day, format_price_e4


class TariffDetailInline(admin.TabularInline):
    model = TariffDetail
    fields = ("position", "end_minute", "interval", "power_upper_w", "electricity_price_e4", "service_price_e4")
    ordering = ("position",)
    extra = 0


@admin.register(TariffTemplate)
class TariffTemplateAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name", "kind", "free_time", "min_balance", "detail_count", "updated_at")
    list_display_links = ("external_id", "name")
    list_filter = ("kind",)
    search_fields = ("external_id", "name")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("external_id", "name", "kind")}),
        (_("Charging rules"), {"fields": ("free_charge_seconds", "min_balance_fen")}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = (TariffDetailInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(detail_count=Count("details"))

    @admin.display(description=_("free charging time"), ordering="free_charge_seconds")
    def free_time(self, obj):
        return format_duration(obj.free_charge_seconds)

    @admin.display(description=_("minimum balance (yuan)"), ordering="min_balance_fen")
    def min_balance(self, obj):
        return format_fen(obj.min_balance_fen)

    @admin.display(description=_("rows"), ordering="detail_count")
    def detail_count(self, obj):
        return obj.detail_count


@admin.register(TariffDetail)
class TariffDetailAdmin(admin.ModelAdmin):
    list_display = (
        "template",
        "position",
        "period_end",
        "interval",
        "power_upper_w",
        "electricity_price",
        "service_price",
    )
    list_select_related = ("template",)
    list_filter = ("template__kind", "interval")
    search_fields = ("template__external_id", "template__name")
    ordering = ("template__name", "template_id", "position")

    @admin.display(description=_("period end"), ordering="end_minute")
    def period_end(self, obj):
        return format_minute_of_day(obj.end_minute)

    @admin.display(description=_("electricity price (yuan)"), ordering="electricity_price_e4")
    def electricity_price(self, obj):
        return format_price_e4(obj.electricity_price_e4)

    @admin.display(description=_("service price (yuan)"), ordering="service_price_e4")
    def service_price(self, obj):
        return format_price_e4(obj.service_price_e4)
