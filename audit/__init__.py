"""The history of the staff accounts: users and groups (Django's own models), recorded with django-simple-history.

The historical models of `django.contrib.auth` cannot live in that app, so they live here, with their migrations.
The history of our own models is declared on each model (`backoffice.history.EditHistory`); this app imports none
of them.
"""
