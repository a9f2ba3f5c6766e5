"""The two staff groups and their exact permissions.

Operators edit stations, chargers, connectors and tariffs, watch charger events and view orders.
Finance views orders and partners and can edit nothing.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CRUD = ("add", "change", "delete", "view")

GROUPS = {
    "Operators": [
        *(("tariffs", f"{action}_tarifftemplate") for action in CRUD),
        *(("tariffs", f"{action}_tariffdetail") for action in CRUD),
        *(("stations", f"{action}_station") for action in CRUD),
        *(("chargers", f"{action}_charger") for action in CRUD),
        *(("chargers", f"{action}_connector") for action in CRUD),
        ("chargers", "view_chargerevent"),
        ("orders", "view_order"),
        ("orders", "view_ordersample"),
    ],
    "Finance": [
        ("orders", "view_order"),
        ("orders", "view_ordersample"),
        ("orders", "view_partner"),
    ],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations ran; create them now so the groups can
    # reference them on a fresh database.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in perms]
        )


def delete_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tariffs", "0001_initial"),
        ("stations", "0001_initial"),
        ("chargers", "0001_initial"),
        ("orders", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
