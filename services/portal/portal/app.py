"""Composition root of the portal: `pasarkota serve portal` runs `portal.app:app`.

The portal owns no business data: no database, no Kafka. It renders pages from the services' HTTP APIs.
Errors become friendly Indonesian pages (never a stack trace); the kernel's problem+json handlers stay for
the portal's few JSON endpoints.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal import (
    pages_account,
    pages_admin_city,
    pages_buyer,
    pages_courier,
    pages_dev,
    pages_evaluation,
    pages_learning,
    pages_learning_admin,
    pages_notifications,
    pages_prices,
    pages_public,
    pages_staff,
)
from portal.client import ApiError, ServiceUnavailable
from portal.web import TOKEN_COOKIE, PageError, SignInRequired, render
from shared import city_directory
from shared.logging import get_logger
from shared.service import ServiceKernel

HERE = Path(__file__).resolve().parent
log = get_logger(__name__)

kernel = ServiceKernel("portal", None, uses_database=False)
city_directory.follow_topic(kernel)  # cities added at runtime (issue #14), read from the compacted topic
app = kernel.http_app(pages_account.router, pages_public.router, pages_buyer.router, pages_staff.router,
                      pages_courier.router, pages_learning.router, pages_dev.router, pages_notifications.router,
                      pages_learning_admin.router, pages_admin_city.router,
                      title="PasarKota portal", api_document=False)  # HTML pages for people, not an API
# evaluation and prices (issue #14), included on their own line to keep merges with other pages clean
for _router in (pages_evaluation.router, pages_prices.router):
    app.include_router(_router)
app.middleware("http")(pages_account.refresh_session)
app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


def _wants_json(request: Request) -> bool:
    return request.url.path.endswith(".json") or "application/json" in request.headers.get("accept", "")


def _retry_url(request: Request) -> str:
    if request.method == "GET":
        return str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    referer = request.headers.get("referer", "")
    host = f"{request.url.scheme}://{request.url.netloc}"
    return referer[len(host):] if referer.startswith(host) else str(request.url.path)


def error_page(request: Request, status: int, title: str, message: str, *, retry: bool = False,
               sign_in: str | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse({"status": status, "title": title, "detail": message}, status_code=status)
    return render(request, "error.html", {"title": title, "message": message,
                                          "retry_url": _retry_url(request) if retry else None,
                                          "sign_in": sign_in}, status_code=status)


@app.exception_handler(ServiceUnavailable)
async def _service_down(request: Request, exc: ServiceUnavailable) -> Response:
    log.warning("page without its service", service=exc.service, reason=exc.reason, path=request.url.path)
    return error_page(request, 503, "Layanan sedang tidak tersedia",
                      f"Layanan {exc.service_name} sedang tidak dapat dihubungi. Data Anda aman; silakan coba "
                      "lagi sebentar lagi.", retry=True)


@app.exception_handler(SignInRequired)
async def _sign_in(request: Request, exc: SignInRequired) -> Response:
    if _wants_json(request):
        return JSONResponse({"status": 401, "detail": "Silakan masuk terlebih dahulu."}, status_code=401)
    return RedirectResponse("/masuk?next=" + quote(exc.next_url), status_code=303)


@app.exception_handler(PageError)
async def _page_error(request: Request, exc: PageError) -> Response:
    return error_page(request, exc.status, exc.title, exc.message)


@app.exception_handler(ApiError)
async def _api_error(request: Request, exc: ApiError) -> Response:
    """A service refusal that no page handled: show its Indonesian message (401 → sign in again)."""
    if exc.status == 401:
        response = RedirectResponse("/masuk?next=" + quote(request.url.path), status_code=303)
        response.delete_cookie(TOKEN_COOKIE, path="/")
        return response
    titles = {403: "Tidak diizinkan", 404: "Tidak ditemukan", 409: "Tidak dapat diproses"}
    return error_page(request, exc.status if exc.status < 500 else 400,
                      titles.get(exc.status, "Permintaan tidak dapat diproses"), exc.message)


@app.exception_handler(StarletteHTTPException)
async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 404:
        return error_page(request, 404, "Halaman tidak ditemukan", "Alamat yang Anda buka tidak ada.")
    if exc.status_code == 405:
        response = error_page(request, 405, "Tidak dapat diproses", "Cara membuka halaman ini tidak didukung.")
    else:
        response = error_page(request, exc.status_code, "Permintaan tidak dapat diproses", str(exc.detail))
    for name, value in (exc.headers or {}).items():  # e.g. Allow on a 405, Retry-After on a 429
        response.headers[name] = value
    return response


@app.exception_handler(RequestValidationError)
async def _invalid(request: Request, exc: RequestValidationError) -> Response:
    return error_page(request, 422, "Data tidak valid", "Periksa kembali isian Anda lalu kirim lagi.")


@app.exception_handler(Exception)
async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled portal error", path=request.url.path)
    return error_page(request, 500, "Maaf, terjadi kesalahan",
                      "Terjadi kesalahan di portal. Silakan coba lagi.", retry=True)

# The trainer's attendance-report upload (a CSV up to 1 MiB, checked on the page) needs more than the default body.
from shared.cities import all_cities  # noqa: E402

for _slug in all_cities():
    kernel.body_limits[f"/kota/{_slug}/pelatih/sesi/"] = 2 * 1024 * 1024

from portal import pages_cities  # noqa: E402

app.include_router(pages_cities.router)  # the operator's city directory (issue #14)
