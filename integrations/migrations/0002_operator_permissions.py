"""Operators watch what crosses the border and act on it: they view API calls, inbound messages and
outbound deliveries, and may replay a message or retry a delivery (the change permission; the rows
themselves stay read-only in the admin). Finance gets nothing here.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Operators": [
        "view_apicalllog",
        "view_inboundmessage",
        "change_inboundmessage",
        "view_outbounddelivery",
        "change_outbounddelivery",
    ],
}


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations ran; create them now so the group can
    # reference them on a fresh database.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="integrations", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        for group in Group.objects.filter(name=name):
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label="integrations", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
        ("orders", "0005_live_sessions"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
