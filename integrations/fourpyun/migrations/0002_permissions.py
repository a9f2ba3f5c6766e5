"""Operators watch what 4pyun was sent and told us, and send an order's record again (adding its plate); finance
sees the same pages for the daily close's 4pyun differences."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Operators": ["view_fourpyunstation", "view_fourpyunorder", "resend_record", "view_statusreport"],
    "Finance": ["view_fourpyunorder", "view_statusreport"],
}


def _permissions(apps, codenames):
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.filter(content_type__app_label="fourpyun", codename__in=codenames)


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations ran; create them now so the groups can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    for name, codenames in GRANTS.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.add(*_permissions(apps, codenames))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, codenames in GRANTS.items():
        for group in Group.objects.filter(name=name):
            group.permissions.remove(*_permissions(apps, codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("fourpyun", "0001_initial"),
        ("orders", "0002_operator_and_finance_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
