"""The admin of finance's exports: request an export of business days, follow it, download its file; and the
order changelist's actions that export the selected orders at once."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max, Min
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit import html_message, local_time
from backoffice.days import business_day_of
from orders.exports import (
    MAX_DAYS,
    export_days_check,
    export_file_response,
    export_filename,
    export_inline_fits,
    export_request,
    orders_export_response,
)
from orders.models import Export, ExportFormat, ExportKind, ExportState

EXPORT_PERMISSION = "orders.export_orders"


class ExportRequestForm(forms.ModelForm):
    """What an export is of: its kind, format and business days."""

    class Meta:
        model = Export
        fields = ("kind", "format", "day_from", "day_to")
        help_texts = {"day_to": lazy(lambda: gettext("At most %(days)d days, the first and the last included.")
                                     % {"days": MAX_DAYS}, str)()}

    def clean(self):
        cleaned = super().clean()
        day_from, day_to = cleaned.get("day_from"), cleaned.get("day_to")
        if day_from and day_to:
            try:
                export_days_check(day_from=day_from, day_to=day_to)
            except ValidationError as error:
                self.add_error("day_to", error)
        return cleaned


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    """Exports are written by a task and never changed: people request one, watch it, download its file.

    Files are served by `download_view` after a permission check, never from MEDIA_URL.
    """

    form = ExportRequestForm
    list_display = ("requested_at_shown", "kind", "format", "days", "requested_by", "state", "progress",
                    "download")
    list_filter = ("state", "kind", "format")
    list_select_related = ("requested_by",)
    ordering = ("-requested_at", "-id")
    add_fields = ("kind", "format", "day_from", "day_to")
    view_fields = ("kind", "format", "day_from", "day_to", "requested_by", "requested_at", "state", "progress",
                   "finished_at", "error", "download")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and request.user.has_perm(EXPORT_PERMISSION)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.view_fields

    def get_changeform_initial_data(self, request):
        day = business_day_of(timezone.now()) - timedelta(days=1)  # the day finance closes
        return {"kind": ExportKind.ORDERS, "format": ExportFormat.XLSX, "day_from": day, "day_to": day}

    # Adding goes through the service, which creates the row and queues the task once the admin's
    # transaction commits.
    def save_form(self, request, form, change):
        data = form.cleaned_data
        return export_request(kind=data["kind"], format=data["format"], day_from=data["day_from"],
                              day_to=data["day_to"], user=request.user)

    def save_model(self, request, obj, form, change):
        pass  # saved by export_request

    def save_related(self, request, form, formsets, change):
        pass  # an export has nothing related to save

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, gettext("The export is queued; its file can be downloaded here once it is "
                                           "done."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:orders_export_changelist"))

    def get_urls(self):
        return [
            path("<int:pk>/download/", self.admin_site.admin_view(self.download_view),
                 name="orders_export_download"),
            *super().get_urls(),
        ]

    def download_view(self, request, pk):
        """The export's file as an attachment, for those who may export orders."""
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        export = get_object_or_404(Export, pk=pk)
        try:
            return export_file_response(export=export)
        except (ValidationError, FileNotFoundError) as error:
            raise Http404(gettext("This export has no file to download.")) from error

    @admin.display(description=_("requested at"), ordering="requested_at")
    def requested_at_shown(self, obj):
        return local_time(obj.requested_at)

    @admin.display(description=_("business days"))
    def days(self, obj):
        if obj.day_from == obj.day_to:
            return obj.day_from.isoformat()
        return f"{obj.day_from.isoformat()} – {obj.day_to.isoformat()}"

    @admin.display(description=_("progress"))
    def progress(self, obj):
        if obj.rows_total is None:
            return self.get_empty_value_display()
        return f"{obj.rows_done} / {obj.rows_total}"

    @admin.display(description=_("file"))
    def download(self, obj):
        if obj.state != ExportState.DONE or not obj.file:
            return self.get_empty_value_display()
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_export_download", args=[obj.pk]),
                           export_filename(kind=obj.kind, format=obj.format, day_from=obj.day_from,
                                           day_to=obj.day_to))


# --- actions of the order changelist ----------------------------------------------------------------------


def _selected_export(modeladmin, request, queryset, format):  # noqa: A002
    if not request.user.has_perm(EXPORT_PERMISSION):
        modeladmin.message_user(request, gettext("You may not export orders."), messages.ERROR)
        return None
    if not export_inline_fits(orders=queryset):
        link = format_html('<a href="{}">{}</a>', reverse("admin:orders_export_add"), gettext("an export of "
                                                                                                "whole days"))
        modeladmin.message_user(request, html_message(
            gettext("More than %(limit)d orders are selected, too many to export while you wait: request "
                    "%(export)s instead."), limit=settings.EXPORT_INLINE_MAX_ROWS, export=link), messages.WARNING)
        return None
    span = queryset.order_by().aggregate(first=Min("created_at"), last=Max("created_at"))
    filename = export_filename(kind=ExportKind.ORDERS, format=format, day_from=business_day_of(span["first"]),
                               day_to=business_day_of(span["last"]))
    return orders_export_response(orders=queryset, format=format, filename=filename)


@admin.action(description=_("Export selected orders (CSV)"))
def orders_export_csv(modeladmin, request, queryset):
    """The selected orders' rows as CSV, streamed; a selection larger than EXPORT_INLINE_MAX_ROWS is refused
    with a pointer to the export of whole days. Needs orders.export_orders."""
    return _selected_export(modeladmin, request, queryset, ExportFormat.CSV)


@admin.action(description=_("Export selected orders (XLSX)"))
def orders_export_xlsx(modeladmin, request, queryset):
    """The selected orders' rows as an Excel workbook; the same limits as the CSV."""
    return _selected_export(modeladmin, request, queryset, ExportFormat.XLSX)
