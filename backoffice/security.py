"""The response headers Django's SecurityMiddleware and django-csp do not send.

- `Permissions-Policy` on every response: the back office uses no camera, microphone, location, payment or other
  powerful browser feature, so no page of it (nor anything injected into one) may ask for them.
- `Cache-Control: no-store` on every admin page, redirects and errors included: they carry money and personal
  data, and no browser or proxy should keep them (the admin's own views say it too; this covers every one).

Machines (vendor pushes, the partner API) get the same headers: they are harmless there, and no response is
changed other than by its headers.
"""

from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_cache_control

# Features no page of the back office uses, each refused to every origin.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "fullscreen", "geolocation",
    "gyroscope", "magnetometer", "microphone", "midi", "payment", "picture-in-picture", "publickey-credentials-get",
    "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
))


def admin_prefix() -> str | None:
    try:
        return reverse("admin:index")
    except NoReverseMatch:  # a project without the admin
        return None


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        prefix = admin_prefix()
        if prefix and request.path.startswith(prefix):
            patch_cache_control(response, no_store=True, private=True)
        return response
