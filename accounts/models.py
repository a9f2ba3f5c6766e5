"""The accounts' models: each part of the app keeps its own in its package; Django looks for them here."""

from .logins.models import LoginFailure, LoginLockout, LoginRecord

__all__ = ["LoginFailure", "LoginLockout", "LoginRecord"]
