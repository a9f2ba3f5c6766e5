"""The daily close: who may do what, and on PostgreSQL the database's own lock on a closed day.

Finance views statements, resolves differences, closes days and exports; reopening a closed day is a
permission of its own that no group gets by default (a superuser grants it to whom finance names).
Operators see the differences, so that they can act on the ones sent back to them, and close nothing.

On PostgreSQL, triggers refuse every insert, update and delete of a closed day's orders, their
settlements and conflicts, and its statements, their lines and the actions on them, whoever runs it:
no code path, shell or SQL client changes a closed day. Each such write takes its day's advisory lock
shared and the close takes it exclusive, so a write under way when a day closes is waited for (and seen
by the close's checks), never slipped in after them. A business day holds the orders created in it
(Asia/Shanghai, which keeps no daylight saving time). Order samples carry no trigger: they are the
largest table by far, and the services refuse them for a closed day's orders.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Finance": [
        "view_businessday", "close_day", "view_dayevent",
        "view_statement", "view_statementline", "resolve_statementline", "view_lineaction",
        "view_export", "add_export", "export_orders",
        "view_ordersettlement",
    ],
    "Operators": ["view_businessday", "view_statement", "view_statementline", "view_lineaction"],
}

GUARD = """
-- Every write of a day's rows takes the day's lock shared, its close takes it exclusive (DAY_LOCK in
-- orders/reconciliation/services.py): a close waits for the writes under way to commit, and a write that
-- comes during a close waits for it and then sees it (a fresh snapshot: this function is volatile).
CREATE OR REPLACE FUNCTION orders_day_closed(d date) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1919, d - DATE '2000-01-01');
    RETURN EXISTS (SELECT 1 FROM orders_businessday WHERE orders_businessday.day = d AND closed);
END
$$;

CREATE OR REPLACE FUNCTION orders_order_day(order_id bigint) RETURNS date LANGUAGE sql STABLE AS $$
    SELECT (created_at AT TIME ZONE 'Asia/Shanghai')::date FROM orders_order WHERE id = $1
$$;

CREATE OR REPLACE FUNCTION orders_statement_day(statement_id bigint) RETURNS date LANGUAGE sql STABLE AS $$
    SELECT day FROM orders_statement WHERE id = $1
$$;

CREATE OR REPLACE FUNCTION orders_closed_day_refuse(day date, what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'closed business day %: % cannot change; reopen the day first', day, what
        USING ERRCODE = 'check_violation', HINT = 'A closed day is reopened from the admin with a reason.';
END
$$;

CREATE OR REPLACE FUNCTION orders_order_closed_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    day date;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        day := (OLD.created_at AT TIME ZONE 'Asia/Shanghai')::date;
        IF orders_day_closed(day) THEN PERFORM orders_closed_day_refuse(day, 'order ' || OLD.order_no); END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        day := (NEW.created_at AT TIME ZONE 'Asia/Shanghai')::date;
        IF orders_day_closed(day) THEN PERFORM orders_closed_day_refuse(day, 'order ' || NEW.order_no); END IF;
        RETURN NEW;
    END IF;
    RETURN OLD;
END
$$;

-- Rows that belong to an order (settlements, conflicts) or to a statement (lines) or to a line (actions).
CREATE OR REPLACE FUNCTION orders_part_closed_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_ record;
    day date;
BEGIN
    FOR row_ IN SELECT * FROM (VALUES (1), (2)) AS side(n) LOOP
        IF (row_.n = 1 AND TG_OP = 'INSERT') OR (row_.n = 2 AND TG_OP = 'DELETE') THEN
            CONTINUE;
        END IF;
        IF TG_TABLE_NAME = 'orders_statement' THEN
            day := CASE WHEN row_.n = 1 THEN OLD.day ELSE NEW.day END;
        ELSIF TG_TABLE_NAME = 'orders_statementline' THEN
            day := orders_statement_day(CASE WHEN row_.n = 1 THEN OLD.statement_id ELSE NEW.statement_id END);
        ELSIF TG_TABLE_NAME = 'orders_lineaction' THEN
            day := orders_statement_day((SELECT statement_id FROM orders_statementline
                                         WHERE id = CASE WHEN row_.n = 1 THEN OLD.line_id ELSE NEW.line_id END));
        ELSE
            day := orders_order_day(CASE WHEN row_.n = 1 THEN OLD.order_id ELSE NEW.order_id END);
        END IF;
        IF day IS NOT NULL AND orders_day_closed(day) THEN
            PERFORM orders_closed_day_refuse(day, TG_TABLE_NAME);
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER orders_order_closed_day BEFORE INSERT OR UPDATE OR DELETE ON orders_order
    FOR EACH ROW EXECUTE FUNCTION orders_order_closed_guard();
CREATE TRIGGER orders_settlement_closed_day BEFORE INSERT OR UPDATE OR DELETE ON orders_ordersettlement
    FOR EACH ROW EXECUTE FUNCTION orders_part_closed_guard();
CREATE TRIGGER orders_conflict_closed_day BEFORE INSERT OR UPDATE OR DELETE ON orders_orderconflict
    FOR EACH ROW EXECUTE FUNCTION orders_part_closed_guard();
CREATE TRIGGER orders_statement_closed_day BEFORE INSERT OR UPDATE OR DELETE ON orders_statement
    FOR EACH ROW EXECUTE FUNCTION orders_part_closed_guard();
CREATE TRIGGER orders_statementline_closed_day BEFORE INSERT OR UPDATE OR DELETE ON orders_statementline
    FOR EACH ROW EXECUTE FUNCTION orders_part_closed_guard();
CREATE TRIGGER orders_lineaction_closed_day BEFORE INSERT OR UPDATE OR DELETE ON orders_lineaction
    FOR EACH ROW EXECUTE FUNCTION orders_part_closed_guard();
"""

UNGUARD = """
DROP TRIGGER IF EXISTS orders_order_closed_day ON orders_order;
DROP TRIGGER IF EXISTS orders_settlement_closed_day ON orders_ordersettlement;
DROP TRIGGER IF EXISTS orders_conflict_closed_day ON orders_orderconflict;
DROP TRIGGER IF EXISTS orders_statement_closed_day ON orders_statement;
DROP TRIGGER IF EXISTS orders_statementline_closed_day ON orders_statementline;
DROP TRIGGER IF EXISTS orders_lineaction_closed_day ON orders_lineaction;
DROP FUNCTION IF EXISTS orders_part_closed_guard();
DROP FUNCTION IF EXISTS orders_order_closed_guard();
DROP FUNCTION IF EXISTS orders_closed_day_refuse(date, text);
DROP FUNCTION IF EXISTS orders_statement_day(bigint);
DROP FUNCTION IF EXISTS orders_order_day(bigint);
DROP FUNCTION IF EXISTS orders_day_closed(date);
"""


def lock(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # Without parameters, so that PL/pgSQL's own % placeholders reach the server as written.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(GUARD)


def unlock(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(UNGUARD)


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
    dependencies = [("orders", "0010_daily_close")]

    operations = [migrations.RunPython(lock, unlock), migrations.RunPython(grant, revoke)]
