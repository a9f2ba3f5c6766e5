"""The URLs of every enabled counterparty, each under its own prefix: /integrations/<prefix>/..."""

from django.urls import include, path

from integrations.counterparty import counterparties

urlpatterns = [path(f"{config.prefix()}/", include(config.urlpatterns())) for config in counterparties()]
