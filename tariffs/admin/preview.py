"""The price preview of a template: a session priced by its draft or one of its versions."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext

from tariffs.display import render_breakdown
from tariffs.forms import PreviewForm
from tariffs.models import TariffTemplate, TariffVersion
from tariffs.pricing import price_session
from tariffs.selectors import tariff_template_draft
from tariffs.validation import tariff_problems

from .context import template_page_context


def tariff_preview_view(model_admin, request, pk):
    template = get_object_or_404(TariffTemplate, pk=pk)
    if not model_admin.has_view_permission(request, template):
        raise PermissionDenied
    form = PreviewForm(request.GET or None, template=template)
    breakdown = tariff = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["version"] == PreviewForm.DRAFT:
            tariff = tariff_template_draft(template=template)
        else:
            tariff = get_object_or_404(TariffVersion, template=template, number=data["version"]).tariff
        problems = tariff_problems(tariff)
        if problems:
            for problem in problems:
                form.add_error(None, problem.message)
        else:
            start, end = data["started_at"], data["ended_at"]
            readings = [(start, 0), *data.get("readings", [(end, data.get("energy_wh") or 0)])]
            try:
                breakdown = price_session(
                    tariff,
                    readings=readings,
                    seconds=int((end - start).total_seconds()),
                    peak_power_w=data.get("peak_power_w"),
                )
            except ValueError as error:
                form.add_error("curve", str(error))
    context = {
        **template_page_context(model_admin, request, template, gettext("Price preview")),
        "form": form,
        "breakdown": render_breakdown(breakdown, tariff) if breakdown else None,
    }
    return TemplateResponse(request, "admin/tariffs/preview.html", context)
