"""The history of what people edit (django-simple-history), and none of what machines report.

Each model whose edits are kept declares `history = EditHistory(excluded_fields=[...])`, the fields left out being
what vendors and services keep up to date by themselves (a connector's status, a charger's last-seen time, a card's
balance, whose own history is its movements) and what must not be copied (a secret's hash). simple-history writes a
record on every save; on top of it:

- a save that names only fields left out (`save(update_fields=[...])`, as every write from a vendor's push does)
  writes none: 50,000 connectors reporting every minute must not bury the edits of people;
- a save that changes no tracked field and gives no reason (`_change_reason`) writes none either: the admin saves
  an object whenever its page is saved, also when only its inline rows changed;
- within one request, a many-to-many change right after a save completes that save's record instead of writing
  one record per added or removed relation (simple-history's own behaviour, kept outside requests);
- historical models have no permissions of their own: history is read with the object's view permission
  (simple-history's default) and never written by hand.

The user at the admin is the record's `history_user` (simple_history.middleware.HistoryRequestMiddleware).
"""

from simple_history.models import HistoricalRecords

M2M_DONE = ("post_add", "post_remove", "post_clear")


class EditHistory(HistoricalRecords):
    def get_meta_options(self, model):
        return {**super().get_meta_options(model), "default_permissions": ()}

    def get_meta_options_m2m(self, through_model):
        return {**super().get_meta_options_m2m(through_model), "default_permissions": ()}

    def post_save(self, instance, created, using=None, **kwargs):
        if not created and not self.changes_history(instance, kwargs.get("update_fields")):
            return
        super().post_save(instance, created, using=using, **kwargs)

    def changes_history(self, instance, update_fields) -> bool:
        """Whether saving `instance` (with `update_fields`, None for all) changes what its history keeps."""
        tracked = self.fields_included(instance)
        if update_fields is not None:
            names = {field.name for field in tracked} | {field.attname for field in tracked}
            if names.isdisjoint(update_fields):
                return False
        if getattr(instance, "_change_reason", None):
            return True
        latest = getattr(instance, self.manager_name).first()  # newest first
        if latest is None:
            # No record yet (a row older than its history): this one is its first.
            return True
        return any(getattr(latest, field.attname) != getattr(instance, field.attname) for field in tracked)

    def create_historical_record_m2ms(self, history_instance, instance):
        super().create_historical_record_m2ms(history_instance, instance)
        # Remembered with the request that wrote it, for the many-to-many changes of the same request.
        instance._edit_history_written = (self._request(), history_instance)

    def m2m_changed(self, instance, action, attr, pk_set, reverse, **kwargs):
        written = getattr(instance, "_edit_history_written", None)
        request = self._request()
        if (action in M2M_DONE and not reverse and request is not None and written is not None
                and written[0] is request and not hasattr(instance, "skip_history_when_saving")):
            record = written[1]
            for field in record._history_m2m_fields:
                self.m2m_models[field].objects.filter(history=record).delete()
            self.create_historical_record_m2ms(record, instance)
            return
        super().m2m_changed(instance, action, attr, pk_set, reverse, **kwargs)

    def _request(self):
        return getattr(self.context, "request", None)
