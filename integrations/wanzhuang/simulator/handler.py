"""HTTP front of the simulator: a request's parameters read the way its path takes them, then `handle_api`.

A GET takes its parameters from the query string, a POST from a JSON object body or a multipart form,
as the path's route says; a POST in another content type is refused (1002) with what was expected. Every
answer is HTTP 200 with the `{code, message, data, timestamp}` envelope, also for a path outside the API.
"""

from __future__ import annotations

import json
import re
from email.parser import BytesHeaderParser
from email.utils import collapse_rfc2231_value
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from integrations.simulation import Request, Response
from integrations.wanzhuang.simulator.api import envelope
from integrations.wanzhuang.simulator.protocol import CONTENT_TYPES, INVALID, JSON, MULTIPART, ROUTES, ApiError

if TYPE_CHECKING:
    from integrations.wanzhuang.simulator.cloud import WanzhuangSimulator


def answer(sim: WanzhuangSimulator, request: Request) -> Response:
    # The vendor's own examples join the base and the path with "//": a run of slashes is one.
    path = re.sub(r"/{2,}", "/", request.path)
    route = ROUTES.get(path.rstrip("/") or "/")
    try:
        if route is None:
            raise ApiError(INVALID, f"接口不存在: {path}")
        if request.method != route.method:
            raise ApiError(INVALID, f"请求方法错误: {path} 应使用 {route.method}, 而不是 {request.method}")
        params = read_params(request, route.encoding)
    except ApiError as exc:
        return Response.json(envelope(exc.code, exc.message))
    return Response.json(sim.handle_api(route, path, params))


def read_params(request: Request, encoding: str) -> dict[str, Any]:
    """The call's parameters: strings from a query or a form, JSON values from a JSON body."""
    if request.method == "GET":
        return _query(request.query)
    content_type = request.headers.get_content_type() if request.headers.get("Content-Type") else ""
    expected = CONTENT_TYPES[encoding]
    if content_type != expected:
        raise ApiError(INVALID, f"请求格式错误: 应为 {expected}, 收到 {content_type or '无 Content-Type'}")
    if encoding == JSON:
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ApiError(INVALID, "请求格式错误: 请求体不是 UTF-8 JSON") from None
        if not isinstance(body, dict):
            raise ApiError(INVALID, "请求格式错误: 请求体应为 JSON 对象")
        return body
    assert encoding == MULTIPART
    boundary = request.headers.get_param("boundary", header="Content-Type")
    if not boundary:
        raise ApiError(INVALID, "请求格式错误: multipart/form-data 缺少 boundary")
    return parse_multipart(request.body, collapse_rfc2231_value(boundary))


def _query(query: str) -> dict[str, str]:
    try:
        parsed = parse_qs(query, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise ApiError(INVALID, "请求格式错误: 查询参数不是 UTF-8") from None
    return {key: values[0] for key, values in parsed.items()}


def parse_multipart(body: bytes, boundary: str) -> dict[str, str]:
    """The text fields of a multipart/form-data body (RFC 7578), first value of each name.

    Parts with a filename are files: the signature leaves byte and file parameters out, and no call
    takes one, so they are dropped here.
    """
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise ApiError(INVALID, "请求格式错误: multipart 请求体不完整")
    fields: dict[str, str] = {}
    for chunk in chunks[1:-1]:
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            head, content = chunk.removesuffix(b"\r\n"), b""
        headers = BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
        name = headers.get_param("name", header="Content-Disposition")
        if not name:
            raise ApiError(INVALID, "请求格式错误: multipart 字段缺少 name")
        if headers.get_filename() is not None:
            continue
        try:
            value = content.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(INVALID, f"请求格式错误: 字段 {collapse_rfc2231_value(name)} 不是 UTF-8") from None
        fields.setdefault(collapse_rfc2231_value(name), value)
    return fields
