"""The gate before the admin: no admin page opens to a session that owes its second factor.

It runs on every view of the admin site's namespace, ModelAdmins and the custom views apps add with `admin_view`
alike, once the URL is resolved (process_view), so no page can forget it. The login and logout pages stay open;
the code and enrolment pages live outside the admin's URLs. It needs django-otp's OTPMiddleware before it.
"""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse

from . import selectors
from .views import step_url

OPEN_VIEWS = {"login", "logout"}


class AdminTwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or admin.site.name not in match.namespaces or match.url_name in OPEN_VIEWS:
            return None
        if not selectors.is_signed_in_staff(request.user):
            return None  # the admin sends them to its login
        step = selectors.twofactor_step(user=request.user)
        if step is None:
            return None
        # Back to the page asked for once the code is given; a form posted meanwhile is not sent again.
        next_url = request.get_full_path() if request.method == "GET" else reverse("admin:index")
        return redirect(step_url(step, next_url))
