"""The admin of partner access: what a partner may reach, edited on the partner's own page, its secret issued
there, and read-only lists of the tokens it was given, the refused attempts to get in and the reconciliation
answers it was told.

`orders` registers `Partner` and must not know the integrations exist (tests/test_layering.py), so this module,
loaded after orders' admin (`integrations.partner` comes after `orders` in INSTALLED_APPS, and autodiscovery
follows that order), replaces that registration with a subclass of the very class orders registered (read from
the site, not imported: no app's admin imports another's) that adds the access inline, its columns and the
secret. A secret is shown once, in the message of the page that issued it; only its hash is kept. Tokens are
listed without their hashes.

A secret is rotated: the one it replaces keeps working for an overlap the operator chooses (PARTNER_SECRET_OVERLAP_HOURS
by default), the access shows both with when each was last used to get a token, and the previous one is retired
from the partner's page once the partner uses the new one. Rotating and retiring need the change permission of the
partner, as editing its access does.

The pages of our own (the confirmation before a secret is rotated or retired, the change page's buttons) are
templates written here, every text in them translated in Python.
"""


from django import forms
from django.conf import settings
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
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit import LargeTableAdminMixin, ReadOnlyAdminMixin, html_message, local_time, pre, pretty_json
from backoffice.errors import REFUSALS, error_message
from integrations.partnerkit.access import (
    partner_secret_issue,
    partner_secret_overlap_check,
    partner_secret_overlap_end,
    partner_secret_previous_retire,
    partner_tokens_alive_by_secret,
    partner_tokens_revoke,
)
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
    fields = ("protocol", "callback_url", "city_codes", "stations", "secrets")
    readonly_fields = ("secrets",)
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

    @admin.display(description=_("secrets"))
    def secrets(self, obj):
        return _secrets_table(obj)


def _secrets_table(access):
    """Both secrets of a rotation side by side: the partner has switched once the previous one is no longer used
    and no live token was got with it."""
    if access is None or access.pk is None or not access.secret_hash:
        return gettext("No secret yet.")
    now = timezone.now()
    never = gettext("never")
    alive = partner_tokens_alive_by_secret(access=access, now=now)
    rows = [(gettext("in use"), access.secret_hint, local_time(access.secret_set_at) or "?",
             gettext("until the next rotation"), local_time(access.secret_last_used_at) or never, alive["current"])]
    if access.previous_secret_hash:
        until = local_time(access.previous_secret_valid_until) or "?"
        if not access.previous_secret_works(now):
            until = gettext("%(at)s (no longer works)") % {"at": until}
        rows.append((gettext("previous"), access.previous_secret_hint, local_time(access.previous_secret_set_at) or "?",
                     until, local_time(access.previous_secret_last_used_at) or never, alive["previous"]))
    heads = (gettext("secret"), gettext("ends with"), gettext("issued at"), gettext("works until"),
             gettext("last used to get a token"), gettext("tokens alive got with it"))
    return format_html(
        '<table class="partner-secrets"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        format_html_join("", "<th>{}</th>", ((head,) for head in heads)),
        format_html_join("", "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                         rows),
    )


def _secret_state(access, now):
    if access is None or not access.secret_hash:
        return gettext("no secret yet")
    state = gettext("the secret ending with %(hint)s, issued %(at)s, keeps working until the time below") % {
        "hint": access.secret_hint, "at": local_time(access.secret_set_at) or "?",
    }
    if access.previous_secret_works(now):
        # Two secrets at most: the older of the overlap goes, and a server of the partner still holding it fails.
        state = "; ".join((state, gettext(
            "the previous secret ending with %(hint)s, meant to work until %(until)s, stops working at once"
        ) % {"hint": access.previous_secret_hint, "until": local_time(access.previous_secret_valid_until)}))
    return state


def _access_of(partner):
    return getattr(partner, "access", None)


def _in_use(partner):
    access = _access_of(partner)
    return access is not None and bool(access.secret_hash)


def _overlap_ends():
    """When the secret a rotation replaces stops working, unless the operator chooses: to the minute, local."""
    return timezone.localtime(partner_secret_overlap_end()).replace(second=0, microsecond=0)


class SecretRotateForm(forms.Form):
    valid_until = forms.DateTimeField(
        label=_("The secret in use keeps working until"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Beijing time. Long enough for the partner to deploy the new secret to all its servers; a time "
                    "already past ends it at once, with the tokens got with it (a secret that leaked); at most 30 "
                    "days. Empty: %(hours)d hours from now."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["valid_until"]
        field.initial = _overlap_ends()
        field.help_text = field.help_text % {"hours": settings.PARTNER_SECRET_OVERLAP_HOURS}

    def clean_valid_until(self):
        until = self.cleaned_data["valid_until"]
        if until is not None:
            partner_secret_overlap_check(valid_until=until)
        return until


class SecretRetireForm(forms.Form):
    revoke_tokens = forms.BooleanField(
        label=_("Also revoke the tokens got with the previous secret"), required=False, initial=True,
        help_text=_("Those got during the overlap and before the rotation; left unticked, they keep working until "
                    "they expire. The tokens got with the secret in use are never touched."),
    )


# orders' admin registers Partner first (INSTALLED_APPS order); its class is read from the site, not imported.
PartnerBaseAdmin = type(admin.site.get_model_admin(Partner))
admin.site.unregister(Partner)


@admin.register(Partner)
class PartnerWithAccessAdmin(PartnerBaseAdmin):
    """orders' partner admin with the partner's access: its inline, its columns, and issuing its secret."""

    list_display = (*PartnerBaseAdmin.list_display, "callback_set", "cities", "secret_issued", "previous_secret_until",
                    "tokens_alive")
    inlines = (*PartnerBaseAdmin.inlines, PartnerAccessInline)
    # Its access is edited on its page and its secrets issued there: their history is on its history page too.
    history_related = (*PartnerBaseAdmin.history_related, (PartnerAccess, "partner"))
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

    @admin.display(description=_("previous secret works until"))
    def previous_secret_until(self, obj):
        # Only while it works: a rotation still in progress.
        access = _access_of(obj)
        return local_time(access.previous_secret_valid_until) if access and access.previous_secret_works(
            timezone.now()) else None

    @admin.display(description=_("tokens alive"), ordering="tokens_alive_count")
    def tokens_alive(self, obj):
        return obj.tokens_alive_count

    # --- rotating a secret: the action on the list, the buttons on a partner's page -------------------------

    def _url_name(self, page):
        return f"{self.opts.app_label}_{self.opts.model_name}_{page}"

    def get_urls(self):
        return [
            path("<int:pk>/secret/", self.admin_site.admin_view(self.secret_issue_view), name=self._url_name("secret")),
            path("<int:pk>/secret/retire/", self.admin_site.admin_view(self.secret_retire_view),
                 name=self._url_name("secret_retire")),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None and self.has_change_permission(request, obj):
            context["secret_issue_url"] = reverse(f"admin:{self._url_name('secret')}", args=[obj.pk])
            context["secret_issue_label"] = gettext("Rotate the secret") if _in_use(obj) else gettext("Issue a secret")
            access = _access_of(obj)
            if access is not None and access.previous_secret_works(timezone.now()):
                context["secret_retire_url"] = reverse(f"admin:{self._url_name('secret_retire')}", args=[obj.pk])
                context["secret_retire_label"] = gettext("Retire the previous secret now")
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _secrets_issue(self, request, partners, *, valid_until=None):
        for partner in partners:
            before = PartnerAccess.objects.filter(partner=partner).first()
            dropped = before is not None and before.previous_secret_works(timezone.now())
            secret = partner_secret_issue(partner=partner, valid_until=valid_until)
            access = PartnerAccess.objects.get(partner=partner)
            values = {"partner": partner.name, "org": partner.org_code,
                      "secret": format_html("<code>{}</code>", secret), "hint": access.previous_secret_hint,
                      "until": local_time(access.previous_secret_valid_until)}
            texts = [gettext(
                "The new secret of %(partner)s (%(org)s) is %(secret)s — copy it now; it is not kept and cannot be "
                "shown again."
            )]
            if before is None or not before.secret_hash:
                self.log_change(request, partner, gettext("Issued a secret."))
            elif access.previous_secret_works(timezone.now()):
                self.log_change(request, partner, gettext(
                    "Rotated the secret; the one before it works until %(until)s.") % {"until": values["until"]})
                texts.append(gettext(
                    "The secret before it (ending with %(hint)s) keeps working until %(until)s: retire it on the "
                    "partner's page once the partner uses the new one."
                ))
            else:
                self.log_change(request, partner, gettext(
                    "Rotated the secret; the one before it and its tokens stopped at once."))
                texts.append(gettext(
                    "The secret before it (ending with %(hint)s) no longer works, and the tokens got with it are "
                    "revoked."))
            if dropped:
                values["dropped"] = before.previous_secret_hint
                texts.append(gettext("The secret ending with %(dropped)s, replaced before, no longer works."))
            messages.warning(request, html_message(" ".join(texts), **values))

    def _confirmation(self, request, partners, *, form, action=None, cancel_url):
        now = timezone.now()
        replacing = any(_in_use(partner) for partner in partners)
        if replacing:
            explanation = gettext(
                "A new secret rotates the one in use: the one in use still gets tokens until the time below, so that "
                "the partner deploys the new one without an outage. Two secrets at most work at once: a previous "
                "secret still working stops at once. Tokens already issued keep working until they expire."
            )
        else:
            explanation = gettext("The new secret is shown once, on the next page: copy it and hand it over.")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Rotate the secret") if replacing else gettext("Issue a secret"),
            "explanation": explanation,
            "rows": [{"partner": partner, "state": _secret_state(_access_of(partner), now)} for partner in partners],
            "form": form if replacing else None,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "submit_label": gettext("Issue the new secret"),
            "cancel_label": gettext("Cancel"),
            "cancel_url": cancel_url,
        }
        return TemplateResponse(request, "admin/orders/partner/secret_issue.html", context)

    @admin.action(description=_("Rotate the secret"), permissions=("change",))
    def issue_secret(self, request, queryset):
        partners = list(queryset.select_related("access").order_by("name"))
        cancel_url = reverse(f"admin:{self._url_name('changelist')}")
        # Rotating a secret in use sets when the one in use stops working: ask first.
        if any(_in_use(partner) for partner in partners):
            if "confirm" not in request.POST:
                return self._confirmation(request, partners, form=SecretRotateForm(), action="issue_secret",
                                          cancel_url=cancel_url)
            form = SecretRotateForm(request.POST)
            if not form.is_valid():
                return self._confirmation(request, partners, form=form, action="issue_secret", cancel_url=cancel_url)
            self._secrets_issue(request, partners, valid_until=form.cleaned_data["valid_until"])
            return None
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
        """GET: what rotating changes, until when the secret in use works, and a button; POST: the new secret, shown
        once on the partner's page."""
        partner = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, partner):
            raise PermissionDenied
        change_url = reverse(f"admin:{self._url_name('change')}", args=[partner.pk])
        form = SecretRotateForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            self._secrets_issue(request, [partner], valid_until=form.cleaned_data["valid_until"])
            return redirect(change_url)
        return self._confirmation(request, [partner], form=form, cancel_url=change_url)

    def secret_retire_view(self, request, pk):
        """GET: the previous secret, the tokens got with it, and a button; POST: it stops working now."""
        partner = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, partner):
            raise PermissionDenied
        change_url = reverse(f"admin:{self._url_name('change')}", args=[partner.pk])
        form = SecretRetireForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            revoke = form.cleaned_data["revoke_tokens"]
            try:
                revoked = partner_secret_previous_retire(partner=partner, revoke_tokens=revoke)
            except REFUSALS as error:
                messages.error(request, error_message(error))
                return redirect(change_url)
            self.log_change(request, partner, gettext("Retired the previous secret; %(count)d of its tokens revoked.")
                            % {"count": revoked})
            text = gettext("The previous secret of %(partner)s (%(org)s) no longer works.") % {
                "partner": partner.name, "org": partner.org_code}
            if revoke:
                text = " ".join((text, ngettext("%(count)d token got with it was revoked.",
                                                "%(count)d tokens got with it were revoked.", revoked)
                                 % {"count": revoked}))
            else:
                text = " ".join((text, gettext("The tokens got with it keep working until they expire.")))
            messages.success(request, text)
            return redirect(change_url)
        access = _access_of(partner)
        if access is None or not access.previous_secret_works(timezone.now()):
            messages.error(request, gettext("%(partner)s has no previous secret that still works: there is nothing "
                                            "to retire.") % {"partner": partner})
            return redirect(change_url)
        alive = partner_tokens_alive_by_secret(access=access, now=timezone.now())["previous"]
        state = gettext("the previous secret ending with %(hint)s works until %(until)s; last used to get a token: "
                        "%(used)s; tokens alive got with it: %(count)d") % {
            "hint": access.previous_secret_hint, "until": local_time(access.previous_secret_valid_until),
            "used": local_time(access.previous_secret_last_used_at) or gettext("never"), "count": alive}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Retire the previous secret now"),
            "explanation": gettext(
                "Retire the previous secret once the partner uses the new one (it has stopped using the previous "
                "one): from now on only the secret in use gets tokens. A partner server still holding the previous "
                "secret is refused, and the refusal is logged as such."
            ),
            "rows": [{"partner": partner, "state": state}],
            "form": form,
            "submit_label": gettext("Retire the previous secret"),
            "cancel_label": gettext("Cancel"),
            "cancel_url": change_url,
        }
        return TemplateResponse(request, "admin/orders/partner/secret_issue.html", context)


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

    list_display = ("issued", "partner", "expires", "alive", "by_previous_secret", "remote_addr")
    list_select_related = ("partner",)
    list_filter = ("partner", TokenAliveFilter, "by_previous_secret")
    ordering = ("-issued_at",)
    sortable_by = ("issued",)
    fields = ("partner", "issued", "expires", "alive", "by_previous_secret", "remote_addr")
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
