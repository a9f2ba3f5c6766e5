"""What every partner interface shares: a partner's access (its secret, its callback address, what it may see),
the tokens it was issued, the failed attempts to get in, and the reconciliation answers it was given.

A partner is the sales channel of `orders.Partner` (its organisation code is the `org` of the 2017 interface and
the OperatorID of T/CEC 102); its access is one row here whatever protocol it speaks. These models belong to the
`integrations` app (`integrations/models.py` imports them).
"""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.history import EditHistory


class PartnerProtocol(models.TextChoices):
    """The interface a partner speaks with us; each is a folder of `integrations`."""

    PILE_2017 = "pile2017", _("Pile-operator interface (2017)")


CITY_CODE = re.compile(r"[0-9]{6}")


def city_codes_parse(text: str) -> list[str]:
    """"440300, 110000" → ["110000", "440300"]: six-digit codes separated by commas, spaces or 、."""
    codes = sorted({code for code in re.split(r"[\s,，、]+", text or "") if code})
    wrong = [code for code in codes if not CITY_CODE.fullmatch(code)]
    if wrong:
        raise ValidationError(
            _("A city code is six digits (e.g. 440300); these are not: %(codes)s."), params={"codes": ", ".join(wrong)}
        )
    return codes


def validate_city_codes(text: str) -> None:
    city_codes_parse(text)


class PartnerAccess(models.Model):
    """How a partner reaches us: the secret it proves itself with, where we call it back, what it may see."""

    partner = models.OneToOneField(
        "orders.Partner", on_delete=models.CASCADE, related_name="access", verbose_name=_("partner")
    )
    protocol = models.CharField(
        _("interface"), max_length=16, choices=PartnerProtocol.choices, default=PartnerProtocol.PILE_2017
    )
    secret_hash = models.CharField(
        _("secret (SHA-256)"), max_length=64, blank=True, editable=False,
        help_text=_("Only the hash of the secret is kept: a lost secret is replaced, never shown again."),
    )
    secret_hint = models.CharField(
        _("secret ends with"), max_length=8, blank=True, editable=False,
        help_text=_("The last characters of the secret, to tell which one the partner holds."),
    )
    secret_set_at = models.DateTimeField(_("secret issued at"), null=True, blank=True, editable=False)
    secret_last_used_at = models.DateTimeField(
        _("secret last used at"), null=True, blank=True, editable=False,
        help_text=_("When the secret last got a token: the partner has switched to it once it is used."),
    )
    # The secret a rotation replaced: it keeps working until `previous_secret_valid_until`, so that the partner's
    # servers switch one by one. Its hash stays after that until the next rotation, so that a server still holding
    # it is logged as such (AuthFailureReason.PREVIOUS_SECRET_EXPIRED) rather than as a guess.
    previous_secret_hash = models.CharField(
        _("previous secret (SHA-256)"), max_length=64, blank=True, editable=False,
    )
    previous_secret_hint = models.CharField(_("previous secret ends with"), max_length=8, blank=True, editable=False)
    previous_secret_set_at = models.DateTimeField(
        _("previous secret issued at"), null=True, blank=True, editable=False,
    )
    previous_secret_valid_until = models.DateTimeField(
        _("previous secret valid until"), null=True, blank=True, editable=False,
    )
    previous_secret_last_used_at = models.DateTimeField(
        _("previous secret last used at"), null=True, blank=True, editable=False,
    )
    callback_url = models.URLField(
        _("callback URL"), max_length=500, blank=True,
        help_text=_("Where the partner's order callbacks are sent (start, progress, end); empty: none are sent."),
    )
    city_codes = models.CharField(
        _("cities"), max_length=500, blank=True, validators=[validate_city_codes],
        help_text=_("Six-digit city codes separated by commas: the partner sees every station of these cities."),
    )
    stations = models.ManyToManyField(
        "stations.Station", blank=True, related_name="partner_accesses", verbose_name=_("stations"),
        help_text=_("Stations the partner sees besides those of its cities."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # What the operator set, and which secret was issued when (its hint and time). Never a secret's hash: the
    # history would keep every hash for good. When a secret last got a token is bookkeeping (an update, no edit).
    history = EditHistory(
        excluded_fields=["secret_hash", "previous_secret_hash", "secret_last_used_at", "previous_secret_last_used_at",
                         "updated_at"],
        m2m_fields=["stations"],
    )

    class Meta:
        verbose_name = _("partner access")
        verbose_name_plural = _("partner access")

    def __str__(self):
        return str(self.partner)

    @property
    def city_code_list(self) -> list[str]:
        return city_codes_parse(self.city_codes)

    def previous_secret_works(self, now) -> bool:
        """Whether the secret a rotation replaced still gets tokens at `now`."""
        return bool(self.previous_secret_hash) and self.previous_secret_valid_until is not None \
            and now < self.previous_secret_valid_until


class PartnerToken(models.Model):
    """A token a partner was issued; only its SHA-256 is kept. A new one never revokes the ones before it, so a
    partner's processes can each refresh without locking the others out."""

    partner = models.ForeignKey(
        "orders.Partner", on_delete=models.CASCADE, related_name="tokens", verbose_name=_("partner")
    )
    token_hash = models.CharField(_("token (SHA-256)"), max_length=64, unique=True)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    remote_addr = models.CharField(_("asked from"), max_length=64, blank=True)
    # Which of the partner's two secrets got it, during a rotation: retiring the previous secret may end these.
    by_previous_secret = models.BooleanField(_("got with the previous secret"), default=False)

    class Meta:
        verbose_name = _("partner token")
        verbose_name_plural = _("partner tokens")
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["partner", "-issued_at"], name="partner_token_issued_idx"),
                   models.Index(fields=["expires_at"], name="partner_token_expires_idx")]

    def __str__(self):
        return f"{self.partner} {timezone.localtime(self.issued_at):%Y-%m-%d %H:%M}"


class AuthFailureReason(models.TextChoices):
    NO_TOKEN = "no_token", _("No token")
    UNKNOWN_TOKEN = "unknown_token", _("Unknown token")
    EXPIRED_TOKEN = "expired_token", _("Expired token")
    UNKNOWN_ORG = "unknown_org", _("Unknown organisation code")
    WRONG_SECRET = "wrong_secret", _("Wrong secret")
    NO_SECRET = "no_secret", _("No secret issued yet")
    DISABLED = "disabled", _("Partner disabled")
    ORG_MISMATCH = "org_mismatch", _("Organisation code of another partner")
    # The secret a rotation replaced, after its overlap ended (or it was retired): a partner server not yet switched.
    PREVIOUS_SECRET_EXPIRED = "expired_secret", _("Previous secret, no longer valid")


class PartnerAuthFailure(models.Model):
    """One refused attempt to get in: asking a token with a wrong secret, or calling with a bad token."""

    at = models.DateTimeField(_("at"), default=timezone.now)
    partner = models.ForeignKey(
        "orders.Partner", on_delete=models.SET_NULL, null=True, blank=True, related_name="auth_failures",
        verbose_name=_("partner"),
    )
    org = models.CharField(_("organisation code given"), max_length=64, blank=True)
    interface = models.CharField(_("interface"), max_length=64)
    reason = models.CharField(_("reason"), max_length=16, choices=AuthFailureReason.choices)
    remote_addr = models.CharField(_("address"), max_length=64, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("partner authentication failure")
        verbose_name_plural = _("partner authentication failures")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["-at", "-id"], name="partner_authfail_at_idx"),
                   models.Index(fields=["partner", "-at"], name="partner_authfail_partner_idx"),
                   models.Index(fields=["reason", "-at"], name="partner_authfail_reason_idx")]

    def __str__(self):
        return f"{self.get_reason_display()} {self.org or '?'}"


class PartnerCheck(models.Model):
    """One reconciliation answer given to a partner (the orders of a time window, counted and summed), kept as
    given so that the daily close can tell whether what the partner was told still holds."""

    partner = models.ForeignKey(
        "orders.Partner", on_delete=models.CASCADE, related_name="checks", verbose_name=_("partner")
    )
    check_no = models.CharField(_("check number"), max_length=32, unique=True)
    window_start = models.DateTimeField(_("from"))
    window_end = models.DateTimeField(_("until"))
    order_count = models.PositiveIntegerField(_("orders"))
    energy_wh = models.BigIntegerField(_("energy (Wh)"))
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    order_nos = models.JSONField(_("order numbers"), default=list)
    asked_at = models.DateTimeField(_("asked at"), default=timezone.now)

    class Meta:
        verbose_name = _("partner reconciliation answer")
        verbose_name_plural = _("partner reconciliation answers")
        ordering = ["-asked_at", "-id"]
        indexes = [models.Index(fields=["partner", "window_start"], name="partner_check_window_idx")]

    def __str__(self):
        return self.check_no
