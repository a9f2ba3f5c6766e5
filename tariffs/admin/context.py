"""What the pages of a tariff template have in common."""


def template_page_context(model_admin, request, template, title):
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "original": template,
        "title": title,
        "subtitle": str(template),
    }
