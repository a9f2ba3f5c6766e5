"""Order conflicts: operators and finance see them (nobody adds or changes one by hand)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {"Operators": ["view_orderconflict"], "Finance": ["view_orderconflict"]}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="orders", codename__in=codenames))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        for group in Group.objects.filter(name=name):
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label="orders", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [("orders", "0008_order_conflicts")]

    operations = [migrations.RunPython(grant, revoke)]
