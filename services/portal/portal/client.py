"""The portal's only way to the services: an httpx client that turns failures into two exceptions.

* :class:`ServiceUnavailable` — the service is down, times out or answers 5xx: the page handler renders a
  friendly Indonesian page with a retry link (never a stack trace).
* :class:`ApiError` — the service answered a problem+json 4xx: pages show ``detail`` and the per-field
  ``errors`` next to the form fields, keeping what the user typed.

The transport is injectable (``httpx.MockTransport`` in unit tests).
"""

from __future__ import annotations

from typing import Any

import httpx
from structlog.contextvars import get_contextvars

from portal.settings import PortalSettings
from shared.logging import get_logger

log = get_logger(__name__)

SERVICE_NAMES = {"catalog": "Katalog pasar", "orders": "Pesanan", "payments": "Pembayaran", "learning": "Pelatihan",
                 "identity": "Akun", "notifications": "Pesan"}


class ServiceUnavailable(Exception):
    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason

    @property
    def service_name(self) -> str:
        return SERVICE_NAMES.get(self.service, self.service)


class ApiError(Exception):
    """A 4xx problem document from a service."""

    def __init__(self, status: int, detail: str, *, code: str = "", field_errors: dict[str, str] | None = None,
                 body: Any = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.field_errors = field_errors or {}
        self.body = body

    @property
    def message(self) -> str:
        """The Indonesian half of a bilingual ``"Indonesia. / English."`` detail."""
        return indonesian(self.detail)


def indonesian(detail: str) -> str:
    return detail.split(" / ", 1)[0].strip() if detail else ""


_FIELD_MESSAGES = {
    "missing": "Wajib diisi.",
    "string_too_short": "Terlalu pendek.",
    "string_too_long": "Terlalu panjang.",
    "int_parsing": "Harus berupa angka bulat.",
    "greater_than": "Harus lebih besar.",
    "greater_than_equal": "Nilainya terlalu kecil.",
    "less_than_equal": "Nilainya terlalu besar.",
    "literal_error": "Pilihan tidak valid.",
    "enum": "Pilihan tidak valid.",
}


def field_errors_of(body: Any) -> dict[str, str]:
    """``errors: [{field, message, type}]`` (the kernel's 422 shape) → ``{field: Indonesian message}``.

    The field is the last path part that is a name (``items.0.quantity`` → ``quantity``), so forms can match
    their input names.
    """
    out: dict[str, str] = {}
    if not isinstance(body, dict):
        return out
    for err in body.get("errors") or []:
        if not isinstance(err, dict):
            continue
        path = str(err.get("field") or err.get("name") or err.get("pointer") or "")
        parts = [p for p in path.replace("/", ".").split(".") if p and not p.isdigit() and p not in ("body", "query")]
        name = parts[-1] if parts else "_form"
        message = _FIELD_MESSAGES.get(str(err.get("type", "")), "") or indonesian(str(err.get("message", "")))
        out.setdefault(name, message or "Periksa isian ini.")
    field = body.get("field")
    if isinstance(field, str) and field and field not in out:
        out[field] = indonesian(str(body.get("detail", ""))) or "Periksa isian ini."
    return out


class ApiClient:
    """Calls ``<service>`` over HTTP with the signed-in user's token; JSON in, JSON out."""

    def __init__(self, settings: PortalSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        # Idle connections are dropped before the services' own keep-alive timeout (uvicorn: 5 s), so a request is
        # never written onto a connection the server is closing at that moment.
        self._client = httpx.AsyncClient(transport=transport, timeout=settings.portal_api_timeout_seconds,
                                         follow_redirects=False, limits=httpx.Limits(keepalive_expiry=2.0))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, service: str, method: str, path: str, *, token: str | None = None, json: Any = None,
                   params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                   correlation_id: str | None = None) -> httpx.Response:
        url = self.settings.service_url(service) + path
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        # The page request's correlation id (bound by the kernel's middleware) travels to every service call,
        # so the events a portal action causes can be traced back to that action.
        correlation_id = correlation_id or get_contextvars().get("correlation_id")
        if correlation_id:
            hdrs["X-Correlation-Id"] = str(correlation_id)
        if params:
            params = {k: v for k, v in params.items() if v is not None and v != ""}
        try:
            try:
                response = await self._client.request(method, url, json=json, params=params, headers=hdrs)
            except httpx.RemoteProtocolError:
                if method.upper() not in ("GET", "HEAD"):
                    raise
                # the server closed a kept-alive connection as the request went out: a read is safe to send again
                response = await self._client.request(method, url, json=json, params=params, headers=hdrs)
        except httpx.TimeoutException as exc:
            log.warning("service timed out", service=service, path=path)
            raise ServiceUnavailable(service, "timeout") from exc
        except httpx.HTTPError as exc:
            log.warning("service unreachable", service=service, path=path, error=repr(exc))
            raise ServiceUnavailable(service, "unreachable") from exc
        if response.status_code >= 500:
            log.warning("service error", service=service, path=path, status=response.status_code)
            raise ServiceUnavailable(service, f"status {response.status_code}")
        if response.status_code >= 400:
            body: Any = None
            try:
                body = response.json()
            except ValueError:
                body = None
            detail = body.get("detail") if isinstance(body, dict) else None
            if not isinstance(detail, str) or not detail:
                detail = {401: "Silakan masuk terlebih dahulu.", 403: "Tidak diizinkan.",
                          404: "Tidak ditemukan."}.get(response.status_code, "Permintaan tidak dapat diproses.")
            code = ""
            if isinstance(body, dict):
                code = str(body.get("code") or str(body.get("type", "")).rsplit("/", 1)[-1])
            raise ApiError(response.status_code, detail, code=code, field_errors=field_errors_of(body), body=body)
        return response

    async def json(self, service: str, method: str, path: str, **kw: Any) -> Any:
        response = await self.send(service, method, path, **kw)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ServiceUnavailable(service, "not json") from None

    async def get(self, service: str, path: str, **kw: Any) -> Any:
        return await self.json(service, "GET", path, **kw)

    async def post(self, service: str, path: str, **kw: Any) -> Any:
        return await self.json(service, "POST", path, **kw)

    async def put(self, service: str, path: str, **kw: Any) -> Any:
        return await self.json(service, "PUT", path, **kw)

    async def patch(self, service: str, path: str, **kw: Any) -> Any:
        return await self.json(service, "PATCH", path, **kw)


def items_of(data: Any, *keys: str) -> list[dict[str, Any]]:
    """A list from a list answer or from ``{"items": [...]}`` / ``{"<key>": [...]}``: services differ a little."""
    if isinstance(data, list):
        return [d for d in data if isinstance(d, dict)]
    if isinstance(data, dict):
        for key in (*keys, "items", "results", "data"):
            value = data.get(key)
            if isinstance(value, list):
                return [d for d in value if isinstance(d, dict)]
    return []
