"""The order samples partitioned by the business day they were received (PostgreSQL); each order knows when its
last sample was received, so that its curve is read from the days that hold it."""

from django.db import migrations, models

from backoffice.partitions import partition_convert, partition_revert


def samples_until_fill(apps, schema_editor):
    orders = schema_editor.quote_name(apps.get_model("orders", "Order")._meta.db_table)
    samples = schema_editor.quote_name(apps.get_model("orders", "OrderSample")._meta.db_table)
    schema_editor.execute(
        f"UPDATE {orders} SET samples_until = (SELECT max(s.received_at) FROM {samples} s"  # noqa: S608
        f" WHERE s.order_id = {orders}.id)"
    )


def unpartition(apps, schema_editor):
    partition_revert(schema_editor=schema_editor, model=apps.get_model("orders", "OrderSample"))


def partition(apps, schema_editor):
    partition_convert(schema_editor=schema_editor, model=apps.get_model("orders", "OrderSample"),
                      column="received_at")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0014_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="samples_until",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="last sample received"),
        ),
        migrations.RunPython(samples_until_fill, migrations.RunPython.noop),
        migrations.RunPython(partition, unpartition),
    ]
