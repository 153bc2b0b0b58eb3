"""The operator's city directory page at 360 px (issue #14): a refused field is shown next to its input with the
input kept; the corrected city is added, listed without its webhook secret, and its addition is in the change
history. Screenshots in test-artifacts/screenshots/ (and, with PASARKOTA_UPDATE_DOCS=1, in docs/img/)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_portal_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, UPDATE_DOCS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if UPDATE_DOCS:
        shutil.copy(path, ROOT / "docs" / "img" / f"{name}.png")


def test_an_operator_adds_a_city_on_the_portal(platform: Any) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium")
    from playwright.sync_api import sync_playwright

    base = platform.url("portal")
    url = f"{base}/kota/cimahi/operator/kota"
    # a city admin is not an operator: refused
    r = httpx.get(url, cookies={"pk_token": platform.token("cimahi", "city_admin")}, timeout=30)
    assert r.status_code == 403
    values = {"slug": "sukabumi", "name": "Kota Sukabumi", "delivery_fee": "9000",
              "merchant.name": "UPTD PASAR KOTA SUKABUMI RAYA",  # 29 characters: over the QRIS limit of 25
              "merchant.city": "SUKABUMI", "merchant.postal_code": "43111", "merchant.nmid": "ID1020000000004",
              "merchant.merchant_pan": "936000140000000004", "merchant.merchant_id": "SKB000000000001",
              "admin_phone": "0812" + str(uuid.uuid4().int)[:8], "admin_name": "Admin Sukabumi"}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 360, "height": 800}, locale="id-ID",
                                          timezone_id="Asia/Jakarta")
            context.add_cookies([{"name": "pk_token", "value": platform.token("cimahi", "operator", sub="e2e-op"),
                                  "url": base}])
            page = context.new_page()
            page.goto(url)
            assert page.locator("[data-testid=city-row][data-slug=cimahi]").count() == 1
            for name, value in values.items():
                page.fill(f'[name="{name}"]', value)
            page.click("#tambah button[type=submit]")
            page.wait_for_load_state("load")
            error = page.locator('[id="e-merchant.name"]')
            assert error.count() == 1 and "25" in error.inner_text(), page.locator("main").inner_text()[:1500]
            assert page.input_value('[name="slug"]') == "sukabumi"  # the input is kept
            assert page.input_value('[name="merchant.name"]') == values["merchant.name"]
            page.locator('[id="e-merchant.name"]').scroll_into_view_if_needed()
            _shot(page, "city-directory-refused")
            page.fill('[name="merchant.name"]', "UPTD PASAR KOTA SUKABUMI")
            page.click("#tambah button[type=submit]")
            page.wait_for_load_state("load")
            assert "sukabumi ditambahkan" in page.locator(".flash").inner_text()
            for _ in range(40):  # identity applies its own event within a second or two
                row = page.locator("[data-testid=city-row][data-slug=sukabumi]")
                if row.count() == 1 and row.locator("[data-testid=secret-missing]").count() == 1 and \
                        page.locator("[data-testid=history-entry]").count() >= 1:
                    break
                page.wait_for_timeout(250)
                page.reload()
            row = page.locator("[data-testid=city-row][data-slug=sukabumi]")
            assert row.locator("[data-testid=secret-missing]").count() == 1, row.inner_text()
            assert "Kota ditambahkan: sukabumi" in page.locator("#riwayat").inner_text()
            _shot(page, "city-directory")
            context.close()
        finally:
            browser.close()
    # the new city's public page is live on the portal
    assert httpx.get(f"{base}/kota/sukabumi", timeout=30).status_code == 200


def test_the_city_page_refuses_bad_input_and_other_roles(platform: Any) -> None:
    base = platform.url("portal")
    url = f"{base}/kota/cimahi/operator/kota"
    operator = {"pk_token": platform.token("cimahi", "operator", sub="e2e-op")}
    with httpx.Client(timeout=30, cookies=operator) as c:
        assert c.post(url, data={"slug": "garut\x00", "name": "Kota Garut"}).status_code == 422  # NUL: the kernel
        long_slug = c.post(url, data={"slug": "g" * 5000, "name": "Kota Garut"})
        assert long_slug.status_code == 422 and 'id="e-slug"' in long_slug.text
        wrong_type = c.post(url, data={"slug": "garut", "name": "Kota Garut", "delivery_fee": "sepuluh ribu"})
        assert wrong_type.status_code == 422 and 'id="e-delivery_fee"' in wrong_type.text
        assert 'value="sepuluh ribu"' in wrong_type.text  # kept as typed
        nothing = c.post(url, data={})
        assert nothing.status_code == 422 and 'id="e-slug"' in nothing.text and 'id="e-name"' in nothing.text
    for role in ("city_admin", "vendor", "buyer"):
        kw = {"vendor_id": "v-x"} if role == "vendor" else {}
        r = httpx.post(url, data={"slug": "garut"}, timeout=30,
                       cookies={"pk_token": platform.token("cimahi", role, **kw)}, follow_redirects=False)
        assert r.status_code == 403, (role, r.status_code)
    assert httpx.get(url, timeout=30, follow_redirects=False).status_code in (302, 303)  # not signed in
    # payments' secret state: a city admin of another city sees nothing of it
    r = httpx.get(platform.url("payments") + "/cities/tegal/webhook-secret", timeout=30,
                  headers=platform.headers("cimahi", "city_admin"))
    assert r.status_code == 403
