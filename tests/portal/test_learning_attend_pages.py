"""The trainer's roster page and the participant's self-service (issue #13) against fake services: bad uploads and
messages are refused next to their field with the input kept, nothing reaches learning; refusals from learning
are shown; the certificate PDF is one's own only."""

from __future__ import annotations

from typing import Any

from tests.portal.fakes import default_services, portal_client, problem

SESSION = {"session_id": "s1", "title": "QRIS untuk lapak", "starts_at": "2026-12-02T10:00:00+00:00"}


def _trainer_services() -> Any:
    fake = default_services()
    fake.on("learning", "GET", r"/cities/cimahi/trainer/sessions/s1/check-in-code", {
        "session_id": "s1", "code": "123456", "check_in_open": True, "check_in_opens_at": SESSION["starts_at"],
        "check_in_closes_at": SESSION["starts_at"]})
    fake.on("learning", "GET", r"/cities/cimahi/trainer/sessions/s1/roster", {"session": SESSION, "roster": [
        {"enrolment_id": "e1", "name": "Rina", "group": "pkk", "rw": "03", "status": "no_show", "attendance": None},
        {"enrolment_id": "e2", "name": "Dodi", "group": "pkk", "rw": "03", "status": "cancelled", "attendance": None}]})
    fake.on("learning", "GET", r"/cities/cimahi/trainer/sessions/s1/attendance-reports",
            {"min_minutes": 45, "imports": [], "unmatched": [
                {"import_id": "i1", "row_no": 2, "name": "HP Samsung", "email": None, "phone": None, "minutes": 60,
                 "qualifies": True}]})
    fake.on("learning", "GET", r"/cities/cimahi/trainer/sessions/s1/history", {"entries": [
        {"id": 1, "at": SESSION["starts_at"], "actor": "trainer-1", "entity": "enrolment", "entity_id": "e1",
         "action": "marked_no_show", "participant_name": "Rina", "before": {"status": "booked"},
         "after": {"status": "no_show"}}]})
    return fake


def test_roster_words_correction_button_unmatched_rows_and_history() -> None:
    with portal_client(_trainer_services(), "trainer") as client:
        page = client.get("/kota/cimahi/pelatih/sesi/s1").text
    assert "Tidak hadir" in page and "Dibatalkan" in page and "Koreksi: Rina hadir" in page
    assert "HP Samsung" in page and "Cocokkan" in page
    assert "Riwayat perubahan" in page and "Terdaftar → Tidak hadir" in page


def test_bad_uploads_are_refused_next_to_the_field_before_learning_sees_them() -> None:
    fake = _trainer_services()
    with portal_client(fake, "trainer") as client:
        for files, data, field, words in (
            ({"file": ("laporan.xlsx", b"PK\x03\x04", "application/vnd.ms-excel")}, {}, "e-file", "CSV"),
            ({"file": ("laporan.csv", b"a" * (1024 * 1024 + 1), "text/csv")}, {}, "e-file", "terlalu besar"),
            ({"file": ("laporan.csv", b"", "text/csv")}, {}, "e-file", "kosong"),
            ({"file": ("laporan.csv", b"Name,Duration\nA,50\n", "text/csv")}, {"min_minutes": "-3"},
             "e-min_minutes", "1–1440"),
        ):
            r = client.post("/kota/cimahi/pelatih/sesi/s1/laporan", files=files, data=data)
            assert r.status_code == 422, r.text
            assert f'id="{field}"' in r.text and words in r.text
        assert 'value="-3"' in r.text                                   # the input is kept
        assert fake.called("learning", "POST", "attendance-reports") == []


def test_refusal_from_learning_is_shown_at_the_file_and_messages_keep_their_text() -> None:
    fake = _trainer_services()
    fake.on("learning", "POST", r"/cities/cimahi/trainer/sessions/s1/attendance-reports",
            lambda _r, _m: problem(422, "Kolom nama dan durasi tidak ditemukan. / No columns.",
                                   "bad-attendance-report", field="file"))
    fake.on("learning", "POST", r"/cities/cimahi/trainer/sessions/s1/messages",
            lambda _r, _m: problem(409, "Belum ada peserta yang memegang kursi. / Nobody.", "roster-empty"))
    with portal_client(fake, "trainer") as client:
        r = client.post("/kota/cimahi/pelatih/sesi/s1/laporan",
                        files={"file": ("laporan.csv", b"foo,bar\n1,2\n", "text/csv")})
        assert r.status_code == 422 and "Kolom nama dan durasi tidak ditemukan" in r.text
        r = client.post("/kota/cimahi/pelatih/sesi/s1/pesan", data={"text": ""})
        assert r.status_code == 422 and "Tulis pesannya" in r.text
        r = client.post("/kota/cimahi/pelatih/sesi/s1/pesan", data={"text": "Besok mulai jam 9"})
        assert r.status_code == 422 and "Belum ada peserta" in r.text and "Besok mulai jam 9" in r.text


def test_participant_cancel_after_start_shows_the_refusal_and_pdf_is_own_only() -> None:
    fake = default_services()
    fake.on("learning", "POST", r"/cities/cimahi/enrolments/e1/cancel",
            lambda _r, _m: problem(409, "Sesi sudah dimulai; pembatalan tidak lagi bisa. / Too late.",
                                   "session-started"))
    fake.on("learning", "GET", r"/cities/cimahi/me/certificates/AAAA333344",
            lambda _r, _m: problem(404, "Sertifikat tidak ditemukan. / Not found.", "certificate-not-found"))
    fake.on("learning", "GET", r"/cities/cimahi/me/certificates/CCCC444466", {
        "code": "CCCC444466", "name": "Rina", "programme": "Literasi Digital", "style": "webinar",
        "partner": "Bank Indonesia", "city": "cimahi", "city_name": "Kota Cimahi", "issued_on": "2026-12-02"})
    with portal_client(fake, "participant") as client:
        r = client.post("/kota/cimahi/pelatihan/pendaftaran/e1/batal")
        assert r.status_code == 303 and "galat=1" in r.headers["location"] and "dimulai" in r.headers["location"]
        assert client.get("/kota/cimahi/pelatihan/sertifikat/AAAA333344.pdf").status_code == 404
        assert client.get("/kota/cimahi/pelatihan/sertifikat/..%2F..%2Fx.pdf").status_code == 404
        r = client.get("/kota/cimahi/pelatihan/sertifikat/CCCC444466.pdf")
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        assert r.headers["content-type"] == "application/pdf"
    with portal_client(fake, "buyer") as client:
        assert client.get("/kota/cimahi/pelatihan/sertifikat/CCCC444466.pdf").status_code == 403
