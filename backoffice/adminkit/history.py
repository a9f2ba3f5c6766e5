"""Each object's history page: who changed what and when, field by field, read-only.

`HistoryAdminMixin` is simple-history's admin (`SimpleHistoryAdmin`) for the models that keep an `EditHistory`
(backoffice/history.py). Its page lists the object's records with each changed field's name (the model's
translated verbose name) and its old and new value as the admin shows values (a choice's label, yes or no, a
related object's name, a time to the second in Beijing time). Rows edited inline on the object's page (a template's
periods, a charger's connectors, a partner's access) are listed below it, each section with the same columns:
`history_related` names them. Last comes the admin's own log of the object (what Django's history page lists),
which also holds the actions that change no recorded field.

A record is never restored from the history page: restoring would write the object back without the rules its
services and forms apply (a tariff's periods tiling the day, a secret issued only by its button), so simple-history's
page of a single version, from which it reverts, is not routed (SIMPLE_HISTORY_REVERT_DISABLED also hides its
button).
"""

import datetime as dt

from django.contrib.admin.models import LogEntry
from django.contrib.admin.options import get_content_type_for_model
from django.contrib.admin.utils import unquote
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.utils.text import capfirst
from django.utils.translation import gettext
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject
from simple_history.utils import get_history_model_for_model, get_m2m_reverse_field_name

from .display import local_time

EMPTY = "—"
# Records of the inline rows shown on an object's history page, newest first; the object's own are paginated.
RELATED_HISTORY_SHOWN = 200
# Entries of the admin's own log of the object (Django's history page), newest first.
ADMIN_ACTIONS_SHOWN = 100


def history_value(field, value):
    """A field's value in a history record as the admin shows it."""
    if isinstance(value, list):  # the related objects of a many-to-many field
        return ", ".join(str(item) for item in value) or EMPTY
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, dt.datetime):
        return local_time(value)
    return str(value)


def _related_object(field, pk):
    if pk is None:
        return None
    found = field.related_model._base_manager.filter(pk=pk).first()
    return found if found is not None else DeletedObject(field.related_model, pk)


def record_changes(record, previous, model):
    """What changed from `previous` to `record` (two records of one object): [{field, old, new}], in the order of
    the model's fields. Every tracked field counts, those people cannot type too (a secret's hint, when it was
    issued), which simple-history's own diff leaves out."""
    changes = []
    for field in record.tracked_fields:
        if field.primary_key:
            continue
        old, new = getattr(previous, field.attname), getattr(record, field.attname)
        if old == new:
            continue
        if field.is_relation:
            old, new = _related_object(field, old), _related_object(field, new)
        changes.append({"field": capfirst(field.verbose_name), "old": history_value(field, old),
                        "new": history_value(field, new)})
    m2m_names = [field.name for field in record._history_m2m_fields]
    if m2m_names:
        delta = record.diff_against(previous, included_fields=m2m_names, foreign_keys_are_objs=True)
        for change in delta.changes:
            field = model._meta.get_field(change.field)
            reverse_name = get_m2m_reverse_field_name(field)
            old, new = ([row[reverse_name] for row in rows] for rows in (change.old, change.new))
            changes.append({"field": capfirst(field.verbose_name), "old": history_value(field, old),
                            "new": history_value(field, new)})
    return changes


def _record_label(record, model):
    """The object as it was named then; a name that reads a related row gone since is replaced by the id."""
    try:
        return str(record.history_object)
    except ObjectDoesNotExist:
        return f"{capfirst(model._meta.verbose_name)} {getattr(record, model._meta.pk.attname)}"


def records_annotate(records, model):
    """Give each record (newest first, of one or several objects) its time as shown and its changes against the
    record before it of the same object: the next one listed, or the one before the oldest listed."""
    pk_name = model._meta.pk.attname
    newer_than = {}
    for record in reversed(records):
        key = getattr(record, pk_name)
        previous = newer_than.get(key)
        if previous is None and record.history_type == "~":
            previous = record.prev_record
        record.history_time = local_time(record.history_date)
        record.history_label = _record_label(record, model)
        record.history_delta_changes = (
            record_changes(record, previous, model) if previous is not None and record.history_type == "~" else []
        )
        newer_than[key] = record
    return records


class HistoryAdminMixin(SimpleHistoryAdmin):
    """simple-history's admin, read-only, with the history of the inline rows named in `history_related`."""

    object_history_template = "admin/history/object_history.html"
    object_history_list_template = "admin/history/records.html"
    # (model, name of its foreign key to this admin's model) of each kind of row edited inline on the object's page.
    history_related = ()

    def history_view(self, request, object_id, extra_context=None):
        # The object is looked up as the change page looks it up, so that an id naming no object (a typo, a
        # deleted row, text where a number goes) is answered with the admin's message, not a server error.
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_history_or_change_history_permission(request, obj):
            raise PermissionDenied
        context = {"related_histories": self.related_histories(obj), **self.admin_actions(obj), **(extra_context or {})}
        return super().history_view(request, object_id, context)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        records_annotate(list(historical_records), self.model)

    def related_histories(self, obj):
        sections = []
        for model, foreign_key in self.history_related:
            history_model = get_history_model_for_model(model)
            attname = model._meta.get_field(foreign_key).attname
            records = list(
                history_model.objects.filter(**{attname: obj.pk}).select_related("history_user")
                .order_by("-history_date", "-history_id")[: RELATED_HISTORY_SHOWN + 1]
            )
            sections.append({
                "title": capfirst(model._meta.verbose_name_plural),
                "records": records_annotate(records[:RELATED_HISTORY_SHOWN], model),
                "more": len(records) > RELATED_HISTORY_SHOWN,
            })
        return sections

    def get_urls(self):
        # Without simple-history's page of one version, which reverts the object on POST whatever
        # SIMPLE_HISTORY_REVERT_DISABLED says: an address of it falls to the admin's "no such object".
        return [url for url in super().get_urls() if not url.name or not url.name.endswith("_simple_history")]

    def admin_actions(self, obj):
        """The admin's own log of the object, which Django's history page showed: besides the edits, the actions
        that change no recorded field (a partner's tokens revoked) say there who did what."""
        actions = list(
            LogEntry.objects.filter(content_type=get_content_type_for_model(obj), object_id=str(obj.pk))
            .select_related("user").order_by("-action_time", "-id")[: ADMIN_ACTIONS_SHOWN + 1]
        )
        shown = actions[:ADMIN_ACTIONS_SHOWN]
        return {"admin_actions": shown, "more_admin_actions": len(actions) > len(shown)}

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # Not routed (get_urls); refused should a subclass route it again.
        raise PermissionDenied
