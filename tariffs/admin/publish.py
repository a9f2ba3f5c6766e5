"""Publishing a template's draft as a new version, from the template's page."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from tariffs.comparison import tariff_changes
from tariffs.display import render_changes, render_tariff
from tariffs.forms import PublishForm
from tariffs.models import TariffTemplate
from tariffs.selectors import tariff_template_draft, tariff_version_latest, tariff_versions_scheduled
from tariffs.services import tariff_version_publish
from tariffs.validation import tariff_problems

from .context import template_page_context


def tariff_publish_view(model_admin, request, pk):
    template = get_object_or_404(TariffTemplate, pk=pk)
    if not request.user.has_perm("tariffs.add_tariffversion"):
        raise PermissionDenied
    draft = tariff_template_draft(template=template)
    latest = tariff_version_latest(template=template)
    form = PublishForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = tariff_version_publish(
                template=template,
                published_by=request.user,
                effective_from=form.cleaned_data["effective_from"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            model_admin.message_user(
                request,
                gettext("Published %(version)s, in force from %(when)s.")
                % {
                    "version": version,
                    "when": timezone.localtime(version.effective_from).strftime("%Y-%m-%d %H:%M"),
                },
                messages.SUCCESS,
            )
            for later in tariff_versions_scheduled(template=template, at=version.effective_from):
                model_admin.message_user(
                    request,
                    gettext("%(version)s is still scheduled for %(when)s and will replace this one then.")
                    % {
                        "version": later,
                        "when": timezone.localtime(later.effective_from).strftime("%Y-%m-%d %H:%M"),
                    },
                    messages.WARNING,
                )
            return redirect(reverse("admin:tariffs_tariffversion_change", args=[version.pk]))
    context = {
        **template_page_context(model_admin, request, template, gettext("Publish a new version")),
        "form": form,
        "latest": latest,
        "problems": tariff_problems(draft),
        "changes": render_changes(tariff_changes(latest.tariff, draft)) if latest else None,
        "tariff": render_tariff(draft),
    }
    return TemplateResponse(request, "admin/tariffs/publish.html", context)
