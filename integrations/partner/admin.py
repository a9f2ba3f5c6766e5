"""The admin of partner access: what a partner may reach, edited on the partner's own page, its secret issued
there, and read-only lists of the tokens it was given, the refused attempts to get in and the reconciliation
answers it was told.

`orders` registers `Partner` and must not know the integrations exist (tests/test_layering.py), so this module,
loaded after orders' admin (`integrations.partner` comes after `orders` in INSTALLED_APPS, and autodiscovery
follows that order), replaces that registration with a subclass of the very class orders registered (read from
the site, not imported: no app's admin imports another's) that adds the access inline, its columns and the
secret. A secret is shown once, in the message of the page that issued it; only its hash is kept. Tokens are
listed without their hashes.

The two pages of our own (the confirmation before a secret is issued, the change page's button) are templates
written here, every text in them translated in Python.
"""


from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit import LargeTableAdminMixin, ReadOnlyAdminMixin, html_message, local_time, pre, pretty_json
from integrations.partnerkit.access import partner_secret_issue, partner_tokens_revoke
from integrations.partnerkit.models import (
    PartnerAccess,
    PartnerAuthFailure,
    PartnerCheck,
    PartnerToken,
    city_codes_parse,
)
from orders.models import Partner
from tariffs.units import format_fen, format_wh

# --- the partner's page: its access, edited with it ---------------------------------------------------------


def _https_first(db_field, **kwargs):
    # Django 6 makes https the default scheme of a URL typed without one; use it already.
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class PartnerAccessForm(forms.ModelForm):
    class Meta:
        model = PartnerAccess
        fields = ("protocol", "callback_url", "city_codes", "stations")
        formfield_callback = _https_first

    def clean_city_codes(self):
        # Kept as the partner interface reads them: sorted, once each, comma-separated.
        return ", ".join(city_codes_parse(self.cleaned_data["city_codes"]))


class PartnerAccessInline(admin.StackedInline):
    """The partner's access. Who may change the partner may change what it reaches; whoever may look at the
    partner sees it. The secret is not a field: it is issued by the page's button and never shown again."""

    model = PartnerAccess
    form = PartnerAccessForm
    fields = ("protocol", "callback_url", "city_codes", "stations", "secret_hint", "secret_set_at")
    readonly_fields = ("secret_hint", "secret_set_at")
    # Stations are thousands; the station admin searches them by code, name and address.
    autocomplete_fields = ("stations",)
    can_delete = False
    # The form's own fields say the same; the admin builds the inline's form with these.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def _partner_admin(self):
        return self.admin_site.get_model_admin(self.parent_model)

    def has_view_permission(self, request, obj=None):
        return self._partner_admin().has_view_permission(request, obj)

    def has_add_permission(self, request, obj):
        if obj is None:
            return self._partner_admin().has_add_permission(request)
        return self._partner_admin().has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._partner_admin().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


def _secret_state(access):
    if access is None or not access.secret_hash:
        return gettext("no secret yet")
    return gettext("the secret ending with %(hint)s, issued %(at)s, stops working at once") % {
        "hint": access.secret_hint, "at": local_time(access.secret_set_at) or "?",
    }


def _access_of(partner):
    return getattr(partner, "access", None)


def _in_use(partner):
    access = _access_of(partner)
    return access is not None and bool(access.secret_hash)


# orders' admin registers Partner first (INSTALLED_APPS order); its class is read from the site, not imported.
PartnerBaseAdmin = type(admin.site.get_model_admin(Partner))
admin.site.unregister(Partner)


@admin.register(Partner)
class PartnerWithAccessAdmin(PartnerBaseAdmin):
    """orders' partner admin with the partner's access: its inline, its columns, and issuing its secret."""

    list_display = (*PartnerBaseAdmin.list_display, "callback_set", "cities", "secret_issued", "tokens_alive")
    inlines = (*PartnerBaseAdmin.inlines, PartnerAccessInline)
    actions = (*(PartnerBaseAdmin.actions or ()), "issue_secret", "revoke_tokens")

    def get_inlines(self, request, obj):
        # A partner is added as orders adds it; its access is set on its page, next to its secret's button.
        inlines = super().get_inlines(request, obj)
        return inlines if obj is not None else tuple(inline for inline in inlines if inline is not PartnerAccessInline)

    def get_queryset(self, request):
        alive = (
            PartnerToken.objects.filter(partner=OuterRef("pk"), expires_at__gt=timezone.now())
            .order_by().values("partner").annotate(count=Count("pk")).values("count")
        )
        return (
            super().get_queryset(request).select_related("access")
            .annotate(tokens_alive_count=Coalesce(Subquery(alive), Value(0)))
        )

    @admin.display(description=_("callback URL set"), boolean=True)
    def callback_set(self, obj):
        access = _access_of(obj)
        return bool(access and access.callback_url)

    @admin.display(description=_("cities"))
    def cities(self, obj):
        access = _access_of(obj)
        return (access.city_codes if access else "") or None

    @admin.display(description=_("secret issued at"))
    def secret_issued(self, obj):
        access = _access_of(obj)
        return local_time(access.secret_set_at) if access and access.secret_hash else None

    @admin.display(description=_("tokens alive"), ordering="tokens_alive_count")
    def tokens_alive(self, obj):
        return obj.tokens_alive_count

    # --- issuing a secret: the action on the list, the button on a partner's page --------------------------

    def _url_name(self, page):
        return f"{self.opts.app_label}_{self.opts.model_name}_{page}"

    def get_urls(self):
        return [
            path("<int:pk>/secret/", self.admin_site.admin_view(self.secret_issue_view), name=self._url_name("secret")),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None and self.has_change_permission(request, obj):
            context["secret_issue_url"] = reverse(f"admin:{self._url_name('secret')}", args=[obj.pk])
            context["secret_issue_label"] = gettext("Issue a new secret")
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _secrets_issue(self, request, partners):
        for partner in partners:
            replaced = _in_use(partner)
            secret = partner_secret_issue(partner=partner)
            self.log_change(request, partner, gettext("Issued a new secret."))
            text = gettext(
                "The new secret of %(partner)s (%(org)s) is %(secret)s — copy it now; it is not kept and cannot be "
                "shown again."
            )
            if replaced:
                text = f"{text} {gettext('The secret before it no longer works.')}"
            secret_shown = format_html("<code>{}</code>", secret)
            messages.warning(request, html_message(text, partner=partner.name, org=partner.org_code,
                                                   secret=secret_shown))

    def _confirmation(self, request, partners, *, action=None, cancel_url):
        replacing = sum(_in_use(partner) for partner in partners)
        if replacing:
            explanation = ngettext(
                "A new secret replaces the one in use: the partner's calls for a token fail until it is given the "
                "new one. Tokens already issued keep working until they expire.",
                "New secrets replace the ones in use: each partner's calls for a token fail until it is given its "
                "new one. Tokens already issued keep working until they expire.",
                len(partners),
            )
        else:
            explanation = gettext("The new secret is shown once, on the next page: copy it and hand it over.")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Issue a new secret"),
            "explanation": explanation,
            "rows": [{"partner": partner, "state": _secret_state(_access_of(partner))} for partner in partners],
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "submit_label": gettext("Issue the new secret"),
            "cancel_label": gettext("Cancel"),
            "cancel_url": cancel_url,
        }
        return TemplateResponse(request, "admin/orders/partner/secret_issue.html", context)

    @admin.action(description=_("Issue a new secret"), permissions=("change",))
    def issue_secret(self, request, queryset):
        partners = list(queryset.select_related("access").order_by("name"))
        # Replacing a secret in use locks the partner out until it has the new one: ask first.
        if "confirm" not in request.POST and any(_in_use(partner) for partner in partners):
            cancel_url = reverse(f"admin:{self._url_name('changelist')}")
            return self._confirmation(request, partners, action="issue_secret", cancel_url=cancel_url)
        self._secrets_issue(request, partners)
        return None

    @admin.action(description=_("Revoke the partners' tokens"), permissions=("change",))
    def revoke_tokens(self, request, queryset):
        revoked = 0
        for partner in queryset:
            count = partner_tokens_revoke(partner=partner)
            self.log_change(request, partner, gettext("Revoked its tokens (%(count)d).") % {"count": count})
            revoked += count
        messages.success(request, ngettext(
            "%(count)d token revoked: its partner asks for a new one with its secret.",
            "%(count)d tokens revoked: their partners ask for new ones with their secrets.", revoked,
        ) % {"count": revoked})

    def secret_issue_view(self, request, pk):
        """GET: what issuing replaces, and a button; POST: the new secret, shown once on the partner's page."""
        partner = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, partner):
            raise PermissionDenied
        change_url = reverse(f"admin:{self._url_name('change')}", args=[partner.pk])
        if request.method == "POST":
            self._secrets_issue(request, [partner])
            return redirect(change_url)
        return self._confirmation(request, [partner], cancel_url=change_url)


# --- tokens, refused attempts, reconciliation answers: read-only lists -------------------------------------


class TokenAliveFilter(admin.SimpleListFilter):
    title = _("alive")
    parameter_name = "alive"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(expires_at__gt=now)
        if self.value() == "no":
            return queryset.filter(expires_at__lte=now)
        return queryset


@admin.register(PartnerToken)
class PartnerTokenAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    """The tokens partners were issued; never their hashes, which are as good as the tokens to whoever reads
    the database without the admin (and of no use to anyone in it)."""

    list_display = ("issued", "partner", "expires", "alive", "remote_addr")
    list_select_related = ("partner",)
    list_filter = ("partner", TokenAliveFilter)
    ordering = ("-issued_at",)
    sortable_by = ("issued",)
    fields = ("partner", "issued", "expires", "alive", "remote_addr")
    readonly_fields = fields

    @admin.display(description=_("issued at"), ordering="issued_at")
    def issued(self, obj):
        return local_time(obj.issued_at)

    @admin.display(description=_("expires at"))
    def expires(self, obj):
        return local_time(obj.expires_at)

    @admin.display(description=_("alive"), boolean=True)
    def alive(self, obj):
        return obj.expires_at > timezone.now()


@admin.register(PartnerAuthFailure)
class PartnerAuthFailureAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    """Every refused attempt to get in, newest first: someone guessing, or a partner holding an old secret."""

    list_display = ("when", "reason", "org", "partner", "interface", "remote_addr", "user_agent")
    list_select_related = ("partner",)
    list_filter = ("reason", "partner")
    date_hierarchy = "at"
    ordering = ("-at", "-id")
    sortable_by = ("when",)
    fields = ("when", "reason", "org", "partner", "interface", "remote_addr", "user_agent")
    readonly_fields = fields

    @admin.display(description=_("at"), ordering="at")
    def when(self, obj):
        return local_time(obj.at)


@admin.register(PartnerCheck)
class PartnerCheckAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The reconciliation answers given to partners, as given: energy in kWh and amounts in yuan."""

    list_display = ("check_no", "partner", "window", "order_count", "energy", "amount", "asked")
    list_select_related = ("partner",)
    list_filter = ("partner",)
    search_fields = ("check_no__exact",)
    search_help_text = _("Exact check number.")
    ordering = ("-asked_at", "-id")
    fields = ("check_no", "partner", "window", "asked", "order_count", "energy", "amount", "order_numbers")
    readonly_fields = fields

    @admin.display(description=_("time window"))
    def window(self, obj):
        return f"{local_time(obj.window_start)} – {local_time(obj.window_end)}"

    @admin.display(description=_("energy (kWh)"))
    def energy(self, obj):
        return format_wh(obj.energy_wh)

    @admin.display(description=_("amount (yuan)"))
    def amount(self, obj):
        return format_fen(obj.amount_fen)

    @admin.display(description=_("asked at"), ordering="asked_at")
    def asked(self, obj):
        return local_time(obj.asked_at)

    @admin.display(description=_("order numbers"))
    def order_numbers(self, obj):
        return pre(pretty_json(obj.order_nos))
