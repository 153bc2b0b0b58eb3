"""Demo data for the two demo cities, replayed through the same commands the HTTP API uses.

Cimahi: in-person programmes at RW hubs (online selling for PKK cadres, product photos with a phone, QRIS at
the stall). Tegal: Bank Indonesia webinars (digital literacy, QRIS for UMKM, digital marketing). About 60
participants per city across groups and RWs; past sessions with enrolments, waitlists, cancellations,
attendance (by check-in code and by the trainer) and the certificates that follow — so CertificateIssued
events reach the catalog — and future sessions open for enrolment. Some business owners are linked to the
catalog's demo vendors, so the funnel has something to show.

Idempotent: one unit of work per city under an advisory lock; a city whose first programme exists is skipped.
Business owners are linked to vendors with the seeder vouching as the city's admin (``policy.may_link_vendor``).
Ids are deterministic (``demo_id``), times relative to the day of seeding.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from learning import domain, handlers
from learning.handlers import Uow
from learning.store import Row
from shared.auth import Principal
from shared.ids import demo_id
from shared.logging import get_logger
from shared.service import ServiceKernel

log = get_logger(__name__)

# (kelurahan slug, kelurahan name, RW): the RW hubs catalog registers as demo_id("rwhub", city, f"{slug}-rw{NN}").
HUBS = {
    "cimahi": [("cibabat", "Cibabat", "05"), ("cigugur-tengah", "Cigugur Tengah", "03"), ("baros", "Baros", "08"),
               ("padasuka", "Padasuka", "12"), ("leuwigajah", "Leuwigajah", "07"), ("citeureup", "Citeureup", "10")],
    "tegal": [("mintaragen", "Mintaragen", "04"), ("kejambon", "Kejambon", "02"), ("slerok", "Slerok", "06"),
              ("randugunting", "Randugunting", "09"), ("pekauman", "Pekauman", "03"), ("panggung", "Panggung", "11")],
}

FIRST = ["Siti", "Dewi", "Rina", "Yuli", "Nur", "Ani", "Euis", "Tati", "Lilis", "Wati", "Asep", "Dedi", "Ujang",
         "Agus", "Budi", "Eko", "Rudi", "Iwan", "Yanto", "Sri", "Ratna", "Heni", "Dian", "Fajar", "Rizki", "Bayu",
         "Putri", "Ayu", "Indra", "Wahyu"]
LAST = ["Rahayu", "Suryani", "Hidayat", "Saputra", "Lestari", "Permana", "Kurniawan", "Wulandari", "Setiawan",
        "Handayani", "Gunawan", "Maulana", "Susanti", "Pratama", "Nugraha"]
# 60 participants: the groups of the source document, business owners most numerous.
GROUP_PLAN = ["pelaku_usaha"] * 18 + ["pkk"] * 14 + ["karang_taruna"] * 10 + ["pengurus_rw"] * 8 + \
             ["umum"] * 6 + ["lpm"] * 4


@dataclass(frozen=True)
class SessionPlan:
    slug: str
    title: str
    module: str
    day_offset: int            # days from today (negative: already held)
    required: bool = True


@dataclass(frozen=True)
class ProgrammePlan:
    slug: str
    title: str
    style: str
    partner: str | None
    modules: list[str]
    description: str
    sessions: list[SessionPlan]
    audience: tuple[str, ...]  # groups invited first
    capacity: int


PROGRAMMES = {
    "cimahi": [
        ProgrammePlan(
            "jualan-online-pkk", "Pelatihan Jualan Online untuk PKK", "in_person",
            "Dinas Koperasi dan UMKM Kota Cimahi",
            ["Pemasaran online", "Toko di e-market PasarKota", "Melayani pembeli lewat WhatsApp"],
            "Kader PKK belajar membuka toko online dan melayani pesanan warga dari balai RW.",
            [SessionPlan("s1", "Pertemuan 1: Membuka toko online", "Toko di e-market PasarKota", -21),
             SessionPlan("s2", "Pertemuan 2: Pemasaran lewat media sosial", "Pemasaran online", -14),
             SessionPlan("s3", "Kelas lanjutan: Melayani pesanan", "Melayani pembeli lewat WhatsApp", 7,
                         required=False)],
            ("pkk", "pelaku_usaha", "karang_taruna"), 25),
        ProgrammePlan(
            "foto-produk-ponsel", "Foto Produk dengan Ponsel", "in_person", "Karang Taruna Kota Cimahi",
            ["Foto produk", "Pencahayaan sederhana", "Menulis deskripsi produk"],
            "Memotret dagangan dengan ponsel agar menarik di katalog online.",
            [SessionPlan("s1", "Foto produk dan pencahayaan", "Foto produk", -10),
             SessionPlan("s2", "Deskripsi produk yang menjual", "Menulis deskripsi produk", 5)],
            ("pelaku_usaha", "karang_taruna", "umum"), 20),
        ProgrammePlan(
            "qris-di-lapak", "Pembayaran QRIS di Lapak", "in_person", "Bank Indonesia Jawa Barat",
            ["Literasi digital & QRIS", "Rekonsiliasi penjualan harian"],
            "Menerima pembayaran QRIS di lapak pasar dan mencocokkan penjualan harian.",
            [SessionPlan("s1", "QRIS untuk pedagang pasar", "Literasi digital & QRIS", -5)],
            ("pelaku_usaha", "pengurus_rw", "lpm"), 25),
        ProgrammePlan(
            "literasi-digital-hibrida", "Literasi Digital & QRIS bersama Bank Indonesia", "hybrid", "Bank Indonesia",
            ["Literasi digital", "Literasi digital & QRIS"],
            "Nonton bareng webinar Bank Indonesia di balai RW, atau ikut dari rumah lewat tautan.",
            [SessionPlan("s1", "Literasi digital dan QRIS", "Literasi digital & QRIS", -12)],
            ("pengurus_rw", "lpm", "pkk", "umum"), 40),
    ],
    "tegal": [
        ProgrammePlan(
            "literasi-digital-bi", "Webinar Literasi Digital Bank Indonesia", "webinar", "Bank Indonesia",
            ["Literasi digital", "Keamanan data & penipuan online"],
            "Seri webinar literasi digital bersama Bank Indonesia: aman bertransaksi online.",
            [SessionPlan("s1", "Literasi digital untuk UMKM", "Literasi digital", -20),
             SessionPlan("s2", "Mengenali penipuan online", "Keamanan data & penipuan online", -13),
             SessionPlan("s3", "Tanya jawab terbuka", "Literasi digital", 6, required=False)],
            ("pelaku_usaha", "pkk", "umum", "karang_taruna"), 100),
        ProgrammePlan(
            "qris-umkm-tegal", "QRIS untuk UMKM Tegal", "webinar", "Bank Indonesia",
            ["QRIS: cara kerja dan biaya", "Membuat QRIS usaha", "Rekonsiliasi penjualan"],
            "Webinar Bank Indonesia: dari mendaftar QRIS sampai mencocokkan penjualan.",
            [SessionPlan("s1", "QRIS: cara kerja dan biaya", "QRIS: cara kerja dan biaya", -8),
             SessionPlan("s2", "Membuat QRIS usaha", "Membuat QRIS usaha", 4)],
            ("pelaku_usaha", "pengurus_rw", "lpm"), 100),
        ProgrammePlan(
            "pemasaran-digital", "Pemasaran Digital untuk Pelaku Usaha", "webinar", "Bank Indonesia & Dinas Koperasi",
            ["Pemasaran online", "Foto produk"],
            "Webinar singkat: memasarkan dagangan pasar lewat media sosial dan e-market.",
            [SessionPlan("s1", "Pemasaran digital dalam 90 menit", "Pemasaran online", -3)],
            ("pelaku_usaha", "karang_taruna", "pkk"), 100),
    ],
}


def _at(day: datetime, tz: ZoneInfo, hour: int) -> datetime:
    return datetime.combine(day.astimezone(tz).date(), time(hour, 0), tzinfo=tz).astimezone(UTC)


async def seed_demo(kernel: ServiceKernel) -> None:
    for city in ("cimahi", "tegal"):
        await seed_city(kernel, city)


async def seed_city(kernel: ServiceKernel, city: str) -> None:
    from shared.cities import all_cities

    if city not in all_cities():
        return
    tz = all_cities()[city].tz
    async with kernel.work(city=city, correlation_id=f"demo-seed-learning-{city}") as uow:
        await uow.store.lock_seeding(city)
        if await uow.store.programme_exists(demo_id("programme", city, PROGRAMMES[city][0].slug)):
            return
        await _seed(uow, city, tz)


async def _seed(uow: Uow, city: str, tz: ZoneInfo) -> None:
    rng = random.Random(f"pasarkota-learning-demo-{city}")
    today = datetime.now(UTC)
    seeder = Principal(sub="demo-seed", city=city, roles=frozenset({"city_admin"}))

    trainers = []
    for n in range(1, 4):
        trainers.append(await handlers.create_trainer(uow, handlers.CreateTrainer(
            name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", subject=f"demo-trainer-{city}-{n}",
            phone=f"0813{n:02d}{len(city):02d}0000", expertise="Pemasaran digital & QRIS",
            trainer_id=demo_id("trainer", city, str(n)))))

    hubs = HUBS[city]
    participants = []
    vendor_no = 0
    for n in range(1, 61):
        group = GROUP_PLAN[n - 1]
        _, kelurahan, rw = hubs[(n * 7) % len(hubs)]
        vendor_id = None
        if group == "pelaku_usaha" and vendor_no < 8 and n % 2 == 1:
            vendor_no += 1
            vendor_id = demo_id("vendor", city, f"vendor-{vendor_no:02d}")
        row = await handlers.register_participant(uow, handlers.RegisterParticipant(
            name=f"{FIRST[(n * 11) % len(FIRST)]} {LAST[(n * 5 + len(city)) % len(LAST)]}",
            phone=f"0812{1 if city == 'cimahi' else 2}{n:07d}", group=group, rw=rw, kelurahan=kelurahan,
            vendor_id=vendor_id, linked_by=seeder, subject=f"demo-participant-{city}-{n}",
            participant_id=demo_id("participant", city, str(n))))
        participants.append(row)

    for p_index, plan in enumerate(PROGRAMMES[city]):
        programme_id = await handlers.create_programme(uow, handlers.CreateProgramme(
            title=plan.title, style=plan.style, partner=plan.partner, modules=plan.modules,
            description=plan.description, programme_id=demo_id("programme", city, plan.slug)))
        invited = [p for p in participants if p["grp"] in plan.audience]
        invited += [p for p in participants if p["grp"] not in plan.audience and rng.random() < 0.15]
        planned = []   # every session exists before any is played: completion needs the whole programme
        for s_index, sp in enumerate(plan.sessions):
            starts = _at(today + timedelta(days=sp.day_offset), tz, 9 if plan.style != "webinar" else 13)
            ends = starts + timedelta(hours=3 if plan.style != "webinar" else 2)
            hub_slug, _, hub_rw = hubs[(p_index * 2 + s_index) % len(hubs)]
            session_id = await handlers.create_session(uow, handlers.CreateSession(
                programme_id=programme_id, title=sp.title, module=sp.module, starts_at=starts,
                ends_at=ends, capacity=plan.capacity,
                rw_hub_id=demo_id("rwhub", city, f"{hub_slug}-rw{hub_rw}") if plan.style != "webinar" else None,
                meeting_link=(f"https://meet.example.id/pasarkota-{city}-{plan.slug}-{sp.slug}"
                              if plan.style != "in_person" else None),
                trainer_id=trainers[(p_index + s_index) % len(trainers)], required=sp.required,
                now=starts - timedelta(days=30), session_id=demo_id("session", city, plan.slug, sp.slug),
                check_hub=False))
            planned.append((session_id, starts, ends, sp))
        for session_id, starts, ends, sp in planned:
            await _play_session(uow, city, session_id, starts, ends, sp, invited, rng, today)
    await _seed_materials(uow, city, seeder)
    log.info("learning demo data seeded", city=city, participants=len(participants))


async def _play_session(uow: Uow, city: str, session_id: str, starts: datetime, ends: datetime,
                        sp: SessionPlan, invited: list[Row], rng: random.Random, today: datetime) -> None:
    """Enrol, cancel, and (for sessions already held) record attendance — as the API would have, back then."""
    past = ends < today
    share = 0.85 if sp.required else 0.35
    if not past:
        share = 0.5 if sp.required else 0.25
    enrol_at = (starts - timedelta(days=7)) if past else min(today, starts - timedelta(hours=1))
    enrolled: list[tuple[str, str]] = []
    for p in invited:
        if rng.random() < share:
            result = await handlers.enrol(uow, handlers.Enrol(
                session_id, participant=p["subject"], now=enrol_at + timedelta(seconds=len(enrolled)),
                enrolment_id=demo_id("enrolment", city, session_id, p["participant_id"])))
            enrolled.append((result["enrolment_id"], result["status"]))
    # A few booked people cancel; the first on the waitlist takes each freed seat.
    booked = [e for e, status in enrolled if status == "booked"]
    for enrolment_id in booked[:: max(1, len(booked) // 2)][:2]:
        await handlers.cancel(uow, handlers.Cancel(
            enrolment_id, actor="demo-seed", now=enrol_at + (timedelta(days=2) if past else timedelta(minutes=1))))
    if not past:
        return
    secret = await uow.store.session_secret(session_id)
    subject_of = {p["participant_id"]: p["subject"] for p in invited}
    for i, row in enumerate(await uow.store.booked_enrolments(session_id)):
        at = starts + timedelta(minutes=5 + i % 20)
        if rng.random() < 0.8:
            if i % 2 == 0:   # checked in with the code on the screen
                (await handlers.check_in(uow, handlers.CheckIn(
                    session_id, participant=subject_of[row["participant_id"]],
                    code=domain.check_in_code(secret, at), now=at))).answer()
            else:            # marked by the trainer
                await handlers.record_attendance(uow, handlers.RecordAttendance(
                    row["enrolment_id"], attended=True, actor="demo-trainer", now=at))
        else:
            await handlers.record_attendance(uow, handlers.RecordAttendance(
                row["enrolment_id"], attended=False, actor="demo-trainer", now=ends))


# ------------------------------------------------------------------- demo materials (issue #13)

def _demo_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with a few lines of text, written here (no copyrighted file)."""
    text = " ".join(f"({line.replace('(', '[').replace(')', ']')}) Tj 0 -18 Td" for line in lines)
    stream = f"BT /F1 12 Tf 50 780 Td {text} ET".encode("latin-1", "replace")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >>"
               b" /Contents 5 0 R >>", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer << /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


QRIS_SUMMARY = [
    "Ringkasan modul: QRIS untuk UMKM Tegal (materi demo PasarKota)",
    "1. QRIS = satu kode QR untuk semua aplikasi pembayaran (bank dan dompet digital).",
    "2. Daftar lewat bank atau penyedia jasa pembayaran; siapkan KTP dan foto lapak.",
    "3. Biaya layanan (MDR) usaha mikro: tanyakan ke penyedia Anda; transaksi kecil bisa gratis.",
    "4. Cek setiap pembayaran masuk di aplikasi sebelum barang diserahkan.",
    "5. Jangan pernah memberi kode OTP atau PIN kepada siapa pun, juga yang mengaku petugas.",
    "6. Cocokkan penjualan harian dengan laporan penyedia setiap sore.",
]


async def _seed_materials(uow: Uow, city: str, seeder: Principal) -> None:
    """Tegal's Bank Indonesia webinars get their demo materials: links per module, a PDF summary, a recording."""
    if city != "tegal":
        return
    qris = demo_id("programme", city, "qris-umkm-tegal")
    literasi = demo_id("programme", city, "literasi-digital-bi")
    items = [
        handlers.AddMaterial(qris, "Tentang QRIS (Bank Indonesia)", seeder, url="https://www.bi.go.id/QRIS/",
                             module="QRIS: cara kerja dan biaya", material_id=demo_id("material", city, "qris-bi")),
        handlers.AddMaterial(qris, "Ringkasan QRIS untuk UMKM (PDF)", seeder, kind="file",
                             content=_demo_pdf(QRIS_SUMMARY), module="Membuat QRIS usaha",
                             material_id=demo_id("material", city, "qris-pdf")),
        handlers.AddMaterial(qris, "Rekaman: QRIS, cara kerja dan biaya", seeder, kind="recording",
                             url="https://video.example.id/pasarkota-tegal-qris-s1",
                             session_id=demo_id("session", city, "qris-umkm-tegal", "s1"),
                             material_id=demo_id("material", city, "qris-rec-s1")),
        handlers.AddMaterial(literasi, "Kenali modus penipuan online (lembar latihan)", seeder,
                             url="https://belajar.example.id/literasi-digital/penipuan-online",
                             module="Keamanan data & penipuan online",
                             material_id=demo_id("material", city, "literasi-penipuan")),
    ]
    for item in items:
        await handlers.add_material(uow, item)
