from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from chargers.admin import unknown_outcome_text
from chargers.models import ChargerTariffPush, TariffPushResult
from chargers.services import tariff_version_push
from chargers.vendor import VendorError, VendorUnavailable
from tariffs.comparison import tariff_changes
from tariffs.display import render_breakdown, render_changes, render_tariff
from tariffs.forms import PreviewForm, PublishForm, TariffDetailForm, TariffDetailFormSet, TariffTemplateForm
from tariffs.models import TariffDetail, TariffTemplate, TariffVersion
from tariffs.pricing import price_session
from tariffs.selectors import (
    tariff_template_draft,
    tariff_version_in_force,
    tariff_version_in_force_subquery,
    tariff_version_latest,
    tariff_versions_scheduled,
)
from tariffs.services import tariff_template_renumber, tariff_version_publish
from tariffs.units import format_duration, format_fen
from tariffs.validation import tariff_problems


class TariffDetailInline(admin.TabularInline):
    model = TariffDetail
    form = TariffDetailForm
    formset = TariffDetailFormSet
    ordering = ("position",)
    extra = 0
    verbose_name = _("period or power tier")
    verbose_name_plural = _("periods (EV, or e-bike by energy) or power tiers (e-bike)")


@admin.register(TariffTemplate)
class TariffTemplateAdmin(admin.ModelAdmin):
    form = TariffTemplateForm
    change_form_template = "admin/tariffs/tarifftemplate/change_form.html"
    list_display = (
        "external_id",
        "name",
        "kind",
        "free_time",
        "min_balance",
        "version_in_force",
        "latest_version",
        "station_count",
        "detail_count",
        "updated_at",
    )
    list_display_links = ("external_id", "name")
    list_filter = ("kind",)
    search_fields = ("external_id", "name")
    readonly_fields = ("publication", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("external_id", "name", "kind", "publication")}),
        (_("Charging rules"), {"fields": ("free_charge_seconds", "min_balance_fen")}),
        (
            _("E-bike settings"),
            {
                "fields": ("start_fee_fen", "max_pay_fen", "refundable", "free_charging"),
                "description": _(
                    "Used by e-bike templates (Wanzhuang charge modes); EV templates leave them as they are."
                ),
            },
        ),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = (TariffDetailInline,)

    def get_queryset(self, request):
        now = timezone.now()
        return (
            super()
            .get_queryset(request)
            .annotate(
                detail_count=Count("details", distinct=True),
                station_count=Count("stations", distinct=True),
                in_force_number=tariff_version_in_force_subquery(template_ref="pk", at=now, field="number"),
                latest_number=Subquery(
                    TariffVersion.objects.filter(template=OuterRef("pk")).order_by("-number").values("number")[:1]
                ),
            )
        )

    @admin.display(description=_("free charging time"), ordering="free_charge_seconds")
    def free_time(self, obj):
        return format_duration(obj.free_charge_seconds)

    @admin.display(description=_("minimum balance (yuan)"), ordering="min_balance_fen")
    def min_balance(self, obj):
        return format_fen(obj.min_balance_fen)

    @admin.display(description=_("in force"), ordering="in_force_number")
    def version_in_force(self, obj):
        return f"v{obj.in_force_number}" if obj.in_force_number else "—"

    @admin.display(description=_("latest version"))
    def latest_version(self, obj):
        return f"v{obj.latest_number}" if obj.latest_number else "—"

    @admin.display(description=_("stations"), ordering="station_count")
    def station_count(self, obj):
        return obj.station_count

    @admin.display(description=_("rows"), ordering="detail_count")
    def detail_count(self, obj):
        return obj.detail_count

    @admin.display(description=_("publication"))
    def publication(self, obj):
        if obj.pk is None:
            return gettext("Save the template, then publish it.")
        latest = tariff_version_latest(template=obj)
        draft = tariff_template_draft(template=obj)
        if latest is None:
            return gettext("Never published: sessions cannot be priced with it until it is.")
        changes = tariff_changes(latest.tariff, draft)
        if not changes:
            return gettext("The working copy is the same as version %(number)s.") % {"number": latest.number}
        return format_html(
            "{}{}",
            gettext("Changed since version %(number)s, not yet published:") % {"number": latest.number},
            render_changes(changes),
        )

    # --- saving: rows are numbered by time or power, whatever order they were typed in ----------------

    def save_formset(self, request, form, formset, change):
        if formset.model is not TariffDetail:
            return super().save_formset(request, form, formset, change)
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        top = max(TariffDetail.objects.filter(template=form.instance).values_list("position", flat=True), default=0)
        for number, instance in enumerate(instances, start=1):
            if instance.pk is None:
                instance.position = top + number
            instance.save()
        formset.save_m2m()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        tariff_template_renumber(template=form.instance)

    # --- publish, preview ------------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/publish/", wrap(self.publish_view), name="tariffs_tarifftemplate_publish"),
            path("<int:pk>/preview/", wrap(self.preview_view), name="tariffs_tarifftemplate_preview"),
            *super().get_urls(),
        ]

    def _context(self, request, template, title):
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": template,
            "title": title,
            "subtitle": str(template),
        }

    def publish_view(self, request, pk):
        template = get_object_or_404(TariffTemplate, pk=pk)
        if not request.user.has_perm("tariffs.add_tariffversion"):
            raise PermissionDenied
        draft = tariff_template_draft(template=template)
        latest = tariff_version_latest(template=template)
        form = PublishForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                version = tariff_version_publish(
                    template=template,
                    published_by=request.user,
                    effective_from=form.cleaned_data["effective_from"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                self.message_user(
                    request,
                    gettext("Published %(version)s, in force from %(when)s.")
                    % {
                        "version": version,
                        "when": timezone.localtime(version.effective_from).strftime("%Y-%m-%d %H:%M"),
                    },
                    messages.SUCCESS,
                )
                for later in tariff_versions_scheduled(template=template, at=version.effective_from):
                    self.message_user(
                        request,
                        gettext("%(version)s is still scheduled for %(when)s and will replace this one then.")
                        % {
                            "version": later,
                            "when": timezone.localtime(later.effective_from).strftime("%Y-%m-%d %H:%M"),
                        },
                        messages.WARNING,
                    )
                return redirect(reverse("admin:tariffs_tariffversion_change", args=[version.pk]))
        context = {
            **self._context(request, template, gettext("Publish a new version")),
            "form": form,
            "latest": latest,
            "problems": tariff_problems(draft),
            "changes": render_changes(tariff_changes(latest.tariff, draft)) if latest else None,
            "tariff": render_tariff(draft),
        }
        return TemplateResponse(request, "admin/tariffs/publish.html", context)

    def preview_view(self, request, pk):
        template = get_object_or_404(TariffTemplate, pk=pk)
        if not self.has_view_permission(request, template):
            raise PermissionDenied
        form = PreviewForm(request.GET or None, template=template)
        breakdown = tariff = None
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            if data["version"] == PreviewForm.DRAFT:
                tariff = tariff_template_draft(template=template)
            else:
                tariff = get_object_or_404(TariffVersion, template=template, number=data["version"]).tariff
            problems = tariff_problems(tariff)
            if problems:
                for problem in problems:
                    form.add_error(None, problem.message)
            else:
                start, end = data["started_at"], data["ended_at"]
                readings = [(start, 0), *data.get("readings", [(end, data.get("energy_wh") or 0)])]
                try:
                    breakdown = price_session(
                        tariff,
                        readings=readings,
                        seconds=int((end - start).total_seconds()),
                        peak_power_w=data.get("peak_power_w"),
                    )
                except ValueError as error:
                    form.add_error("curve", str(error))
        context = {
            **self._context(request, template, gettext("Price preview")),
            "form": form,
            "breakdown": render_breakdown(breakdown, tariff) if breakdown else None,
        }
        return TemplateResponse(request, "admin/tariffs/preview.html", context)


@admin.register(TariffVersion)
class TariffVersionAdmin(admin.ModelAdmin):
    """Published versions: read-only history; publishing happens on the template's page."""

    # The version page with the tariff push below it (extends admin/tariffs/tariffversion/change_form.html).
    change_form_template = "admin/tariffs/version_push_change_form.html"

    list_display = (
        "template",
        "number",
        "state",
        "effective_from",
        "published_by_name",
        "published_at",
        "note",
        "order_count",
    )
    list_display_links = ("template", "number")
    list_select_related = ("template",)
    list_filter = ("template__kind", "template")
    search_fields = ("template__external_id", "template__name", "name")
    ordering = ("template__name", "-number")
    fields = (
        "template",
        "number",
        "name",
        "state",
        "effective_from",
        "published_at",
        "published_by_name",
        "note",
        "tariff_table",
        "usage",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        now = timezone.now()
        return (
            super()
            .get_queryset(request)
            .annotate(
                in_force_id=tariff_version_in_force_subquery(template_ref="template_id", at=now),
                order_count=Count("orders"),
            )
        )

    @admin.display(description=_("state"))
    def state(self, obj):
        if obj.in_force_id == obj.pk:
            return gettext("in force")
        if obj.effective_from > timezone.now():
            return gettext("scheduled")
        return gettext("superseded")

    @admin.display(description=_("orders"), ordering="order_count")
    def order_count(self, obj):
        return obj.order_count

    @admin.display(description=_("tariff"))
    def tariff_table(self, obj):
        return render_tariff(obj.tariff)

    @admin.display(description=_("used by"))
    def usage(self, obj):
        now = timezone.now()
        current = tariff_version_in_force(template=obj.template_id, at=now)
        stations = obj.template.stations.annotate(charger_count=Count("chargers")).order_by("code")
        return render_to_string(
            "admin/tariffs/includes/usage.html",
            {"stations": stations, "in_force": current is not None and current.pk == obj.pk, "version": obj},
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        if version is not None:
            compare = request.GET.get("compare", "")
            extra_context = {
                **(extra_context or {}),
                **self._comparison(version, compare),
                **self._pushes(request, version),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- sending the version to the chargers, and what each charger answered ----------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/push/", wrap(self.push_view), name="tariffs_tariffversion_push"),
            *super().get_urls(),
        ]

    @staticmethod
    def _may_push(request):
        # Sending a tariff is an act on the chargers, so it is the chargers' change permission.
        return request.user.has_perm("chargers.change_charger")

    def _pushes(self, request, version):
        context = {"can_push": self._may_push(request), "in_force": version.in_force_id == version.pk}
        if request.user.has_perm("chargers.view_chargertariffpush"):
            latest = (
                ChargerTariffPush.objects.filter(tariff_version=version, charger=OuterRef("charger"))
                .order_by("-requested_at", "-id")
                .values("pk")[:1]
            )
            pushes = list(
                ChargerTariffPush.objects.filter(tariff_version=version, pk=Subquery(latest))
                .select_related("charger__station")
                .order_by("charger__station__code", "charger__serial")
            )
            context["acknowledgements"] = pushes
            context["acknowledgement_counts"] = [
                (label, sum(push.result == value for push in pushes))
                for value, label in TariffPushResult.choices
                if any(push.result == value for push in pushes)
            ]
        return context

    def push_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self._may_push(request):
            raise PermissionDenied
        version = get_object_or_404(self.get_queryset(request).select_related("template"), pk=pk)
        back = reverse("admin:tariffs_tariffversion_change", args=[version.pk]) + "#charger-acknowledgements"
        try:
            pushes = tariff_version_push(version=version, by_name=request.user.get_username())
        except ValidationError as error:
            for text in error.messages:
                self.message_user(request, text, messages.ERROR)
        except VendorUnavailable as error:
            self.message_user(request, unknown_outcome_text(error), messages.ERROR)
        except VendorError as error:
            self.message_user(
                request,
                gettext("A vendor refused %(version)s: %(error)s. The table below shows which chargers got it.")
                % {"version": version, "error": error},
                messages.ERROR,
            )
        else:
            self.message_user(
                request,
                ngettext(
                    "%(version)s sent to %(count)d charger; its answer appears below when it comes.",
                    "%(version)s sent to %(count)d chargers; their answers appear below as they come.",
                    len(pushes),
                )
                % {"version": version, "count": len(pushes)},
                messages.SUCCESS,
            )
        return redirect(back)

    @staticmethod
    def _comparison(version, compare):
        """The difference to the version before it, or to `?compare=<number>` when the operator picks one."""
        others = version.template.versions.exclude(pk=version.pk).order_by("-number")
        other = others.filter(number=int(compare)).first() if compare.isdigit() else None
        other = other or others.filter(number__lt=version.number).first()
        context = {"other_numbers": list(others.values_list("number", flat=True)), "compared": other}
        if other is not None:
            before, after = sorted((other, version), key=lambda v: v.number)
            context.update(
                before=before, after=after, changes=render_changes(tariff_changes(before.tariff, after.tariff))
            )
        return context
