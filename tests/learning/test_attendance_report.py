"""The attendance-report parser (learning.attendance_report): Zoom and Google Meet shapes, messy files, matching."""

from __future__ import annotations

import pytest

from learning.attendance_report import (
    Enrolled,
    ReportRefused,
    default_min_minutes,
    match,
    normalise_name,
    parse,
    parse_minutes,
    phone_in,
)

ZOOM = """Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest,Recording Consent
Siti Aminah,siti@example.id,12/02/2026 09:58:12 AM,12/02/2026 10:40:00 AM,42,No,Y
Budi Santoso (Budi HP),,12/02/2026 10:01:00 AM,12/02/2026 11:00:30 AM,60,Yes,Y
Siti Aminah,siti@example.id,12/02/2026 10:45:00 AM,12/02/2026 11:00:00 AM,15,No,Y
Tamu Tak Dikenal,,12/02/2026 10:05:00 AM,12/02/2026 10:25:00 AM,20,Yes,Y
"""

ZOOM_WITH_MEETING_DATA = """Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants
812 3456 7890,Webinar Literasi Digital,12/02/2026 09:55:00 AM,12/02/2026 11:01:00 AM,host@example.id,66,3

Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest
Rina - 0812-3456-7890,,12/02/2026 10:00:00 AM,12/02/2026 11:00:00 AM,60,Yes
"""

MEET = """First name,Last name,Email,Duration,Time joined,Time exited
Siti,Aminah,siti@example.id,1 hr 2 min,9:59 AM,11:01 AM
Budi,Santoso,,38 min,10:00 AM,10:38 AM
"""

MEET_FULL_NAME = """Full Name,First Seen,Time in Call
Siti Aminah,12/2/2026 10:00,00:50:10
budi  SANTOSO,12/2/2026 10:02,47:30
"""


def test_zoom_participant_report_rejoins_are_summed() -> None:
    report = parse(ZOOM.encode())
    assert report.platform == "zoom"
    by_name = {a.name: a for a in report.attendees}
    assert by_name["Siti Aminah"].minutes == 57 and by_name["Siti Aminah"].rows == 2
    assert by_name["Budi Santoso (Budi HP)"].minutes == 60
    assert by_name["Tamu Tak Dikenal"].minutes == 20
    assert len(report.attendees) == 3


def test_zoom_export_with_meeting_data_finds_the_participant_header_and_a_phone_in_the_name() -> None:
    report = parse(ZOOM_WITH_MEETING_DATA.encode())
    assert [(a.name, a.phone, a.minutes) for a in report.attendees] == [("Rina - 0812-3456-7890", "081234567890", 60)]


def test_google_meet_attendance_report_first_and_last_name() -> None:
    report = parse(MEET.encode())
    assert report.platform == "meet"
    assert {(a.name, a.email, a.minutes) for a in report.attendees} == {
        ("Siti Aminah", "siti@example.id", 62), ("Budi Santoso", None, 38)}


def test_google_meet_full_name_and_time_in_call() -> None:
    report = parse(MEET_FULL_NAME.encode())
    assert {(normalise_name(a.name), a.minutes) for a in report.attendees} == {("siti aminah", 50),
                                                                             ("budi santoso", 47)}


def test_bom_semicolons_and_indonesian_zoom_headers() -> None:
    text = ("Nama (Nama Asli);Email Pengguna;Waktu Bergabung;Waktu Keluar;Durasi (Menit);Tamu\r\n"
            "Siti Aminah;SITI@Example.id ;02/12/2026 10:00:00;02/12/2026 10:50:00;50;Tidak\r\n"
            ";;;;;\r\n"
            "Siti Aminah;siti@example.id;02/12/2026 10:55:00;02/12/2026 11:00:00;5;Tidak\r\n")
    report = parse(b"\xef\xbb\xbf" + text.encode())
    assert report.platform == "zoom"
    assert [(a.email, a.minutes, a.rows) for a in report.attendees] == [("siti@example.id", 55, 2)]


def test_utf16_and_windows_1252() -> None:
    assert parse(ZOOM.encode("utf-16")).attendees[0].name == "Budi Santoso (Budi HP)"
    report = parse("Full Name,Time in Call\nJosé Müller,45 min\n".encode("cp1252"))
    assert report.attendees[0].name == "José Müller" and report.attendees[0].minutes == 45


def test_durations_in_every_shape() -> None:
    assert parse_minutes("47") == 47
    assert parse_minutes("47,5") == 47.5
    assert parse_minutes("1:05:30") == pytest.approx(65.5)
    assert parse_minutes("45:30") == pytest.approx(45.5)
    assert parse_minutes("1 hr 5 min") == 65
    assert parse_minutes("1 jam 5 menit") == 65
    assert parse_minutes("50m 30s") == pytest.approx(50.5)
    assert parse_minutes("") is None and parse_minutes("n/a") is None


def test_duration_from_join_and_leave_when_no_duration_column() -> None:
    report = parse(b"Name,Join Time,Leave Time\nAni,10:00,10:46\n")
    assert report.attendees[0].minutes == 46


@pytest.mark.parametrize("raw", [b"", b"\n\n", b"a,b,c\n1,2,3\n", b"%PDF-1.7\x00\x01binary", b"Name\nAni\n"])
def test_files_that_are_not_attendance_reports_are_refused(raw: bytes) -> None:
    with pytest.raises(ReportRefused) as refused:
        parse(raw)
    assert " / " in refused.value.reason     # Indonesian / English


def test_a_broken_csv_is_refused_not_a_crash() -> None:
    with pytest.raises(ReportRefused):
        parse(b"Name,Duration\n" + b'"' + b"x" * 200_000 + b'",50\n')
    with pytest.raises(ReportRefused):
        parse(b"\xff\xfe\x00\xd8N\x00")


def test_too_many_rows_and_too_large_are_refused() -> None:
    with pytest.raises(ReportRefused):
        parse(b"Name,Duration\n" + b"Ani,50\n" * 5001)
    with pytest.raises(ReportRefused):
        parse(b"Name,Duration\n" + b"x" * (1024 * 1024 + 1))


def test_phones_and_names_are_normalised() -> None:
    assert phone_in("Budi +62 812-3456-7890") == "081234567890"
    assert phone_in("Budi") is None
    assert normalise_name("  Siti  NURHALIZA (Siti N.) ") == "siti nurhaliza"
    assert normalise_name("Budi - 0812 3456 7890") == "budi"


def test_matching_by_email_then_phone_then_unique_name() -> None:
    roster = [Enrolled("e1", "Siti Aminah", "081111111111", "siti@example.id"),
              Enrolled("e2", "Budi Santoso", "082222222222", None),
              Enrolled("e3", "Ani", "083333333333", None), Enrolled("e4", "Ani", "084444444444", None),
              Enrolled("e5", "Rina Wati", "081234567890", None)]
    text = ("Name,User Email,Duration (Minutes)\n"
            "Sity A.,siti@example.id,50\n"        # email wins over a misspelt name
            "SANTOSO budi,,50\n"                  # same words, another order
            "Ani,,50\n"                           # two Anis on the roster: ambiguous → unmatched
            "Rina 0812 3456 7890,,50\n"           # phone typed into the display name
            "Orang Lain,,50\n")
    matched = {m.attendee.name: (m.enrolment_id, m.matched_by) for m in match(parse(text.encode()).attendees, roster)}
    assert matched == {"Sity A.": ("e1", "email"), "SANTOSO budi": ("e2", "name"), "Ani": (None, None),
                       "Rina 0812 3456 7890": ("e5", "phone"), "Orang Lain": (None, None)}


def test_default_minimum_minutes() -> None:
    assert default_min_minutes(120) == 45
    assert default_min_minutes(60) == 45
    assert default_min_minutes(40) == 30
    assert default_min_minutes(1) == 1
