"""Charging cards in the admin: the cards, their movements, and the page that tops up or adjusts a balance.

A balance changes only by its movements (`orders.services.cards`); here it is shown, never edited. Operators
type money in yuan; the conversion to fen is exact (Decimal, no float) and happens in the form, once.
"""

import re
from decimal import Decimal
from functools import partial
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit import HistoryAdminMixin, LargeTableAdminMixin, ReadOnlyAdminMixin, admin_link, local_time
from backoffice.errors import REFUSALS, error_message
from orders.models import TERMINAL_STATUSES, CardMovement, CardMovementKind, ChargingCard, Order
from orders.services import card_balance_change
from tariffs.units import format_fen

# Yuan as people type them: a sign for an adjustment, whole yuan, at most two decimals. Nothing else (no
# exponent, no separators, no "NaN"): a typing mistake in money is refused, never guessed at.
_YUAN = re.compile(r"[+-]?\d{1,9}(\.\d{1,2})?", flags=re.ASCII)


def yuan_to_fen(text: str) -> int:
    """Exact fen of a yuan amount typed by a person ("12.30" -> 1230); ValidationError naming the field."""
    text = (text or "").strip()
    if not _YUAN.fullmatch(text):
        raise ValidationError(
            _("Enter the amount in yuan with at most 2 decimals, e.g. 12.30 (-12.30 takes money off)."),
            code="invalid",
        )
    fen = Decimal(text).scaleb(2)
    # The pattern allows two decimals at most, so this is whole; kept as a check, not a rounding.
    if fen != fen.to_integral_value():
        raise ValidationError(_("The amount has more than 2 decimals."), code="precision")
    if fen == 0:
        raise ValidationError(_("The amount cannot be 0."), code="zero")
    return int(fen)


class BalanceChangeForm(forms.Form):
    KINDS = ((CardMovementKind.TOP_UP, CardMovementKind.TOP_UP.label),
             (CardMovementKind.ADJUSTMENT, CardMovementKind.ADJUSTMENT.label))

    kind = forms.ChoiceField(label=_("kind"), choices=KINDS, initial=CardMovementKind.TOP_UP,
                             widget=forms.RadioSelect)
    amount = forms.CharField(
        label=_("amount (yuan)"),
        max_length=20,
        widget=forms.TextInput(attrs={"size": 10, "inputmode": "decimal"}),
        help_text=_("A top-up adds to the balance; an adjustment adds or, with a minus sign, takes off."),
    )
    note = forms.CharField(label=_("note"), max_length=255, widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("Why: the receipt, the complaint, the mistake corrected. Kept with the "
                                       "movement."))

    def clean_amount(self):
        return yuan_to_fen(self.cleaned_data["amount"])


def card_balance_view(model_admin, request, pk):
    """Top up or adjust one card's balance: a movement with the operator's name and note."""
    if not request.user.has_perm("orders.adjust_balance"):
        raise PermissionDenied
    card = get_object_or_404(model_admin.get_queryset(request), pk=pk)
    form = BalanceChangeForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            movement = card_balance_change(card=card, amount_fen=data["amount"], kind=data["kind"],
                                           note=data["note"], by_name=request.user.get_username())
        except REFUSALS as error:
            form.add_error(None, error_message(error))
        else:
            model_admin.message_user(
                request,
                gettext("Card %(card)s: %(kind)s of %(amount)s yuan; the balance is now %(balance)s yuan.") % {
                    "card": card.number,
                    "kind": movement.get_kind_display(),
                    "amount": format_fen(movement.amount_fen),
                    "balance": format_fen(movement.balance_after_fen),
                },
                messages.SUCCESS,
            )
            return redirect(reverse("admin:orders_chargingcard_change", args=[card.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": gettext("Top up or adjust the balance"),
        "subtitle": str(card),
        "card": card,
        "balance": format_fen(card.balance_fen),
        "held": format_fen(card.held_fen),
        "form": form,
    }
    return TemplateResponse(request, "admin/orders/chargingcard/balance.html", context)


class MovementDisplayMixin:
    @admin.display(description=_("amount (yuan)"))
    def amount(self, obj):
        return format_fen(obj.amount_fen)

    @admin.display(description=_("balance after (yuan)"))
    def balance_after(self, obj):
        return format_fen(obj.balance_after_fen)

    @admin.display(description=_("at"), ordering="at")
    def moment(self, obj):
        return local_time(obj.at)

    @admin.display(description=_("order"))
    def order_link(self, obj):
        return admin_link(obj.order, obj.order.order_no) if obj.order_id else None


class CardMovementInline(MovementDisplayMixin, ReadOnlyAdminMixin, admin.TabularInline):
    """The card's newest movements; beyond `max_shown` the card's "movements" field links to all of them."""

    model = CardMovement
    fields = ("moment", "kind", "amount", "balance_after", "order_link", "note", "by_name")
    readonly_fields = fields
    ordering = ("-at", "-id")
    extra = 0
    max_shown = 50

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")

    def newest(self, queryset, card):
        ids = list(queryset.filter(card=card).order_by("-at", "-id").values_list("pk", flat=True)[: self.max_shown])
        return queryset.filter(pk__in=ids)


@admin.register(ChargingCard)
class ChargingCardAdmin(HistoryAdminMixin, admin.ModelAdmin):
    list_display = ("number", "holder", "mobile", "balance", "held", "enabled")
    list_filter = ("enabled",)
    search_fields = ("number", "holder", "mobile")
    ordering = ("number",)
    inlines = (CardMovementInline,)
    change_form_template = "admin/orders/chargingcard/change_form.html"

    def get_queryset(self, request):
        # What live sessions hold, one subquery for the whole page (card_held_fen's rule, per card).
        held = (Order.objects.filter(card=OuterRef("pk")).exclude(status__in=TERMINAL_STATUSES).order_by()
                .values("card").annotate(total=Sum("authorized_amount_fen")).values("total"))
        return super().get_queryset(request).annotate(held_fen=Coalesce(Subquery(held), Value(0)))

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": ("number", "holder", "mobile", "enabled")})]
        if obj is not None:
            fieldsets.append((_("Balance"), {"fields": ("balance", "held", "movements")}))
            fieldsets.append((_("Record"), {"fields": ("created_at", "updated_at")}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = ("balance", "held", "movements", "created_at", "updated_at")
        if obj is not None:
            # The number is how chargers know the card; another number is another card.
            readonly = ("number", *readonly)
        return readonly

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, CardMovementInline) and obj is not None and obj.pk is not None:
            kwargs["queryset"] = inline.newest(kwargs["queryset"], obj)
        return kwargs

    def has_delete_permission(self, request, obj=None):
        # A card's movements are its money's history, kept for good: a card no longer used is disabled.
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/balance/", wrap(partial(card_balance_view, self)), name="orders_chargingcard_balance"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_adjust_balance"] = obj is not None and request.user.has_perm("orders.adjust_balance")
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description=_("balance (yuan)"), ordering="balance_fen")
    def balance(self, obj):
        return format_fen(obj.balance_fen)

    @admin.display(description=_("held by live sessions (yuan)"), ordering="held_fen")
    def held(self, obj):
        return format_fen(obj.held_fen)

    @admin.display(description=_("movements"))
    def movements(self, obj):
        total = obj.movements.count()
        if not total:
            return self.get_empty_value_display()
        text = ngettext("%(count)d movement", "%(count)d movements", total) % {"count": total}
        if total > CardMovementInline.max_shown:
            text = gettext("%(all)s, the newest %(shown)d below") % {"all": text, "shown": CardMovementInline.max_shown}
        url = f"{reverse('admin:orders_cardmovement_changelist')}?{urlencode({'card__id__exact': obj.pk})}"
        return format_html('<a href="{}">{}</a>', url, text)


@admin.register(CardMovement)
class CardMovementAdmin(MovementDisplayMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    """Every change of every card's balance, read-only: each is made by a service, with its reason."""

    list_display = ("moment", "card_number", "kind", "amount", "balance_after", "order_link", "note", "by_name")
    list_select_related = ("card", "order")
    list_filter = ("kind",)
    search_fields = ("card__number__exact", "order__order_no__exact")
    search_help_text = _("Exact card number or order number.")
    ordering = ("-at", "-id")
    sortable_by = ("moment",)
    raw_id_fields = ("card", "order")
    fields = ("card", "kind", "amount", "balance_after", "order_link", "note", "by_name", "moment")
    readonly_fields = fields

    @admin.display(description=_("card"))
    def card_number(self, obj):
        return admin_link(obj.card, obj.card.number)
