"""What Wanzhuang needs of a device that is not ours to know elsewhere: how it bills and its device settings."""

from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from chargers.models import Charger

CHARGE_MODE_CHOICES = [
    (0, _("0 time mode")),
    (1, _("1 energy mode")),
    (2, _("2 power mode")),
    (7, _("7 time mode 2")),
    (8, _("8 energy mode 2")),
    (9, _("9 power mode 2")),
    (11, _("11 car standard energy mode")),
]


class DeviceSettings(models.Model):
    """A Wanzhuang device's settings sent with each charge mode (saveMode): do-not-disturb, power-off, floating
    charge and detection. A device without a row is sent the defaults."""

    charger = models.OneToOneField(Charger, on_delete=models.CASCADE, related_name="wanzhuang_settings",
                                   verbose_name=_("charger"), limit_choices_to={"vendor": "wanzhuang"})
    charge_mode = models.PositiveSmallIntegerField(
        _("charge mode"), null=True, blank=True, choices=CHARGE_MODE_CHOICES,
        help_text=_("How the device bills. Empty: chosen from its device type and its station's tariff (energy "
                    "periods: an energy mode; power tiers: a power mode, or time mode for a single tier)."),
    )
    is_not_disturb = models.BooleanField(_("do not disturb"), default=False)
    not_disturb_start = models.TimeField(_("do not disturb from"), default="22:00")
    not_disturb_end = models.TimeField(_("do not disturb until"), default="07:00")
    not_disturb_volume = models.PositiveSmallIntegerField(_("volume while not disturbing"), default=1,
                                                          validators=[MaxValueValidator(10)])
    is_outage = models.BooleanField(_("never power off"), default=False,
                                    help_text=_("Keep the power on when the vehicle draws almost nothing."))
    auto_off_wait_time = models.PositiveIntegerField(_("power-off wait (s)"), default=60,
                                                     validators=[MaxValueValidator(3600)])
    auto_off_lower_power = models.PositiveIntegerField(_("power-off below (W)"), default=10,
                                                       validators=[MaxValueValidator(1000)])
    floating_charge_time = models.PositiveIntegerField(_("floating charge (min)"), default=0,
                                                       validators=[MaxValueValidator(720)])
    floating_charge_power = models.PositiveIntegerField(_("floating charge power (W)"), default=0,
                                                        validators=[MaxValueValidator(1000)])
    detect_time = models.PositiveIntegerField(_("port pre-detection (s)"), default=0,
                                              validators=[MaxValueValidator(600)])
    check_time = models.PositiveIntegerField(_("power detection (s)"), default=60,
                                             validators=[MaxValueValidator(3600)],
                                             help_text=_("Power modes: how long the device measures before it "
                                                         "picks the power tier."))
    inc_time = models.PositiveIntegerField(_("billing increment (min)"), default=0,
                                           validators=[MaxValueValidator(600)])
    count_mode = models.PositiveSmallIntegerField(_("power-mode billing"), default=0,
                                                  validators=[MaxValueValidator(9)])
    display_delay = models.PositiveSmallIntegerField(_("display delay (s)"), default=0,
                                                     validators=[MaxValueValidator(60)])
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("Wanzhuang device settings")
        verbose_name_plural = _("Wanzhuang device settings")
        ordering = ["charger_id"]

    def __str__(self):
        return str(self.charger)
