"""Task functions for django-q2: each calls one service and returns what it reports.

Their dotted paths are what `async_task` and the schedules name (`integrations/schedules.py`), so they
keep their names.
"""

from integrations import bulk, inbox, outbox


def delivery_send(delivery_id):
    """Attempt one outbound delivery if it is still waiting and due."""
    delivery = outbox.delivery_attempt(delivery_id=delivery_id)
    # The status is what the cluster's task list shows for this run.
    return None if delivery is None else delivery.status


def deliveries_sweep():
    """Enqueue every due outbound delivery; runs every minute."""
    return outbox.deliveries_sweep()


def inbound_retry_failed():
    """Apply failed inbound messages again; runs every few minutes."""
    return inbox.inbound_retry_failed()


def inbound_replay_selected(message_ids, user_id):
    """Replay a person's large selection of stored pushes, oldest first (the admin's replay action)."""
    return bulk.inbound_replay_selected(ids=message_ids, user_id=user_id).summary()


def deliveries_retry_selected(delivery_ids, user_id):
    """Retry a person's large selection of deliveries now (the admin's retry action)."""
    return bulk.deliveries_retry_selected(ids=delivery_ids, user_id=user_id).summary()
