from django.db import models


class Push(models.Model):
    """A push as it arrived: its body and when."""

    body = models.TextField()
    received_at = models.DateTimeField()

    def __str__(self):
        return f"push #{self.pk}"
