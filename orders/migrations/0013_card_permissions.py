"""Charging cards: operators keep them (add, change, top up); finance sees them and adjusts balances. Every movement
of a balance is read-only. The devices' offline revenue readings are seen by both."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Operators": {
        "orders": ["add_chargingcard", "change_chargingcard", "view_chargingcard", "adjust_balance",
                   "view_cardmovement"],
        "chargers": ["view_offlinerevenuereading"],
        "wanzhuang": ["add_devicesettings", "change_devicesettings", "view_devicesettings"],
    },
    "Finance": {
        "orders": ["view_chargingcard", "adjust_balance", "view_cardmovement"],
        "chargers": ["view_offlinerevenuereading"],
    },
}


def _permissions(Permission, grants):
    for app_label, codenames in grants.items():
        yield from Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*_permissions(Permission, grants))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in GRANTS.items():
        for group in Group.objects.filter(name=name):
            group.permissions.remove(*_permissions(Permission, grants))


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0012_charging_cards"),
        ("chargers", "0004_offline_revenue"),
        ("wanzhuang", "0001_device_settings"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
