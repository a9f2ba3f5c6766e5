"""HTTP front of the simulator: a request becomes a `handle_api` call.

Every answer is HTTP 200 with Tomda's `{errorCode, errorDesc, data}` envelope, as the real cloud does,
even for a path outside the API or parameters it cannot read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from integrations.simulation import Request, Response
from integrations.tomda.simulator.protocol import API_PREFIX, ApiError, bad_params

if TYPE_CHECKING:
    from integrations.tomda.simulator.cloud import TomdaSimulator


def answer(sim: TomdaSimulator, request: Request) -> Response:
    path = request.path
    try:
        if not path.startswith(API_PREFIX + "/"):
            raise ApiError("1400", f"{path} is not under {API_PREFIX}")
        path = path[len(API_PREFIX) :]
        params = _params(request)
    except ApiError as exc:
        envelope = {"errorCode": exc.code, "errorDesc": exc.desc, "data": None}
    else:
        envelope = sim.handle_api(request.method, path, params)
    return Response.json(envelope)


def _params(request: Request) -> dict[str, str]:
    """The call's parameters: the query string of a GET, the form body of a POST."""
    if request.method == "GET":
        source = request.query
    else:
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if request.body and content_type != "application/x-www-form-urlencoded":
            raise bad_params(
                f"parameters must be form-encoded (application/x-www-form-urlencoded), not {content_type!r}"
            )
        if not request.body and request.query:
            raise bad_params("a POST carries its parameters in the form body, not in the query string")
        try:
            source = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise bad_params("the form body is not UTF-8") from None
    try:
        parsed = parse_qs(source, keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError:
        raise bad_params("parameters are not UTF-8 after URL decoding") from None
    return {key: values[0] for key, values in parsed.items()}
