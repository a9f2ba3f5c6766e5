"""The inbox partitioned by the business day a push was received (PostgreSQL), its dedupe key unique per day."""

from django.db import migrations, models
from django.db.models import Q

from backoffice.partitions import partition_convert, partition_revert


def received_day_fill(apps, schema_editor):
    table = schema_editor.quote_name(apps.get_model("integrations", "InboundMessage")._meta.db_table)
    if schema_editor.connection.vendor == "postgresql":
        day = "(received_at AT TIME ZONE 'Asia/Shanghai')::date"
    else:  # SQLite keeps UTC text; Beijing is UTC+8 all year
        day = "date(received_at, '+8 hours')"
    schema_editor.execute(f"UPDATE {table} SET received_day = {day}")  # noqa: S608


def one_first_arrival_per_key(apps, schema_editor):
    """Before the key is unique across days again (the reverse): a later day's first arrival of a key already
    held gives its key up, and a duplicate whose first arrival expired with its day points at none."""
    inbound = apps.get_model("integrations", "InboundMessage")
    held = set()
    rows = (inbound.objects.filter(duplicate_of__isnull=True).exclude(dedupe_key="")
            .order_by("received_at", "id").values_list("pk", "vendor", "dedupe_key"))
    later = []
    for pk, vendor, key in rows.iterator():
        if (vendor, key) in held:
            later.append(pk)
        held.add((vendor, key))
    inbound.objects.filter(pk__in=later).update(dedupe_key="")
    inbound.objects.filter(duplicate_of__isnull=False).exclude(
        duplicate_of__in=inbound.objects.values("pk")).update(duplicate_of=None)


def unpartition(apps, schema_editor):
    partition_revert(schema_editor=schema_editor, model=apps.get_model("integrations", "InboundMessage"))


def partition(apps, schema_editor):
    partition_convert(schema_editor=schema_editor, model=apps.get_model("integrations", "InboundMessage"),
                      column="received_day")


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0007_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="inboundmessage",
            name="received_day",
            field=models.DateField(editable=False, null=True, verbose_name="day received"),
        ),
        migrations.RunPython(received_day_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="inboundmessage",
            name="received_day",
            field=models.DateField(editable=False, verbose_name="day received"),
        ),
        migrations.RemoveConstraint(model_name="inboundmessage", name="inbound_unique_dedupe_key"),
        migrations.AddConstraint(
            model_name="inboundmessage",
            constraint=models.UniqueConstraint(
                condition=Q(("duplicate_of__isnull", True), Q(("dedupe_key", ""), _negated=True)),
                fields=("vendor", "dedupe_key", "received_day"),
                name="inbound_unique_dedupe_key_day",
            ),
        ),
        migrations.AlterField(
            model_name="inboundmessage",
            name="duplicate_of",
            field=models.ForeignKey(
                blank=True, db_constraint=False, null=True, on_delete=models.deletion.CASCADE,
                related_name="duplicates", to="integrations.inboundmessage", verbose_name="duplicate of",
            ),
        ),
        migrations.RunPython(migrations.RunPython.noop, one_first_arrival_per_key),
        migrations.RunPython(partition, unpartition),
    ]
