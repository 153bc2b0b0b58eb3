"""``application/problem+json`` errors (RFC 9457) with a clear Indonesian and English message."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import DomainError, Kind
from shared.logging import get_logger

log = get_logger(__name__)
PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: ("Permintaan tidak valid", "Bad request"),
    401: ("Perlu masuk terlebih dahulu", "Authentication required"),
    403: ("Tidak diizinkan", "Forbidden"),
    404: ("Tidak ditemukan", "Not found"),
    405: ("Metode tidak diizinkan", "Method not allowed"),
    409: ("Bertentangan dengan keadaan saat ini", "Conflict"),
    413: ("Permintaan terlalu besar", "Payload too large"),
    415: ("Jenis konten tidak didukung", "Unsupported media type"),
    422: ("Data tidak valid", "Invalid data"),
    429: ("Terlalu banyak percobaan", "Too many requests"),
    500: ("Terjadi kesalahan pada server", "Internal server error"),
    503: ("Layanan sedang tidak tersedia", "Service unavailable"),
}


class Problem(Exception):
    """Raise to answer with a problem document. ``detail`` is for people (Indonesian first)."""

    def __init__(self, status: int, detail: str, *, code: str | None = None, title: str | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or _TITLES.get(status, ("", "error"))[1].lower().replace(" ", "-")
        self.title = title
        self.extra = extra


def problem_response(status: int, detail: str, *, code: str | None = None, title: str | None = None,
                     instance: str | None = None, **extra: Any) -> JSONResponse:
    id_title, en_title = _TITLES.get(status, ("Kesalahan", "Error"))
    body: dict[str, Any] = {
        "type": f"https://pasarkota.id/problems/{code or en_title.lower().replace(' ', '-')}",
        "title": title or f"{id_title} / {en_title}",
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


# The one place a domain error's kind becomes an HTTP status.
STATUS_OF_KIND = {Kind.NOT_FOUND: 404, Kind.CONFLICT: 409, Kind.INVALID: 422, Kind.FORBIDDEN: 403,
                  Kind.TOO_MANY: 429, Kind.UNAUTHENTICATED: 401}


def install_problem_handlers(app: FastAPI) -> None:
    """Every error a client can see becomes problem+json; nothing leaks a stack trace."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        response = problem_response(STATUS_OF_KIND[exc.kind], exc.detail, code=exc.code,
                                    instance=request.url.path, **exc.extra)
        retry_after = exc.extra.get("retry_after_seconds")
        if isinstance(retry_after, int | float) and retry_after > 0:
            response.headers["Retry-After"] = str(max(1, round(retry_after)))
        return response

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, code=exc.code, title=exc.title,
                                instance=request.url.path, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", ""),
             "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return problem_response(422, "Periksa kembali isian Anda. / Please check the submitted data.",
                                code="validation-error", instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response = problem_response(exc.status_code, detail, instance=request.url.path)
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        from shared.db import is_outage

        if is_outage(exc):
            log.warning("database unavailable", path=request.url.path, error=repr(exc))
            response = problem_response(503, "Layanan sedang sibuk atau dalam pemeliharaan, silakan coba lagi "
                                        "sebentar lagi. / The service is temporarily unavailable; please retry.",
                                        code="temporarily-unavailable", instance=request.url.path)
            response.headers["Retry-After"] = "5"
            return response
        log.exception("unhandled error", path=request.url.path)
        return problem_response(500, "Maaf, terjadi kesalahan. Silakan coba lagi. / Sorry, something went wrong.",
                                instance=request.url.path)
