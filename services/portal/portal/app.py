"""Composition root of the portal: `pasarkota serve portal` runs `portal.app:app`."""

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from shared.service import ServiceKernel

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def home(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "home.html", {})


# The portal owns no business data: no database, no Kafka. It calls the services' HTTP APIs.
kernel = ServiceKernel("portal", None, uses_database=False)
app = kernel.http_app(router, title="PasarKota portal")
app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
