from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from .models import Push

OK = {"errorCode": "200", "errorDesc": "", "data": None}


@require_POST
def push(request):
    """Stores the body with one INSERT (autocommit) and acknowledges it, as Tomda expects."""
    Push.objects.create(body=request.body.decode("utf-8", errors="replace"), received_at=timezone.now())
    return JsonResponse(OK)
