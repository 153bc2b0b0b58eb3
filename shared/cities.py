"""The city directory: which cities this deployment serves, with their settings.

The base is the seed file ``PASARKOTA_CITIES_FILE`` (default ``config/cities.toml``), read at start; cities
added at runtime (``POST /cities`` on identity → ``CityAdded`` on ``identity.city.v1``, see
``shared.city_directory``) are applied on top by :func:`apply_document` and seen at once by :func:`get_city`,
:func:`all_cities` and :func:`city_section`. Secrets come from the environment
(``PASARKOTA_CITY_<SLUG>_WEBHOOK_SECRET``) or the secret store directory (:func:`city_secret`), never from a
city document. Unknown cities answer 404 everywhere.

Each city's ``[city.merchant]`` table (its QRIS merchant of record) is payments' configuration: it is kept
here raw (:class:`MerchantTable`) and parsed and validated by payments at start-up (``payments.merchant``).
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import Invalid
from shared.problems import Problem

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "config" / "cities.toml"


class MerchantTable(Mapping[str, object]):
    """The raw ``[city.merchant]`` table, unparsed: payments owns its meaning and validates it at start-up.

    ``name`` is the display name pages may show (the portal's payment page).
    """

    def __init__(self, raw: Mapping[str, object]) -> None:
        self._raw = dict(raw)

    def __getitem__(self, key: str) -> object:
        return self._raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"MerchantTable({self._raw!r})"

    def __hash__(self) -> int:  # a City stays hashable, as it was
        return hash(tuple(sorted((k, repr(v)) for k, v in self._raw.items())))

    @property
    def name(self) -> str:
        return str(self._raw.get("name", ""))


@dataclass(frozen=True)
class City:
    slug: str
    name: str
    timezone: str
    delivery_fee: int
    payment_expiry_minutes: int
    programme_style: str
    merchant: MerchantTable

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def webhook_secret(self) -> str:
        """The webhook secret (environment or secret store; a seed city's development value otherwise)."""
        return webhook_secret_of(self.slug) or ""


def _load(path: Path) -> dict[str, City]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise RuntimeError(f"city directory {path} not found; set PASARKOTA_CITIES_FILE") from None
    return {raw["slug"]: city_of(raw) for raw in data.get("city", [])}


def city_of(raw: Mapping[str, object]) -> City:
    """A :class:`City` from its document (a ``[[city]]`` table of the seed file, or a runtime city's)."""
    merchant = raw.get("merchant", {})
    return City(slug=str(raw["slug"]), name=str(raw["name"]), timezone=str(raw.get("timezone", "Asia/Jakarta")),
                delivery_fee=int(str(raw.get("delivery_fee", 0))),
                payment_expiry_minutes=int(str(raw.get("payment_expiry_minutes", 15))),
                programme_style=str(raw.get("programme_style", "in_person")),
                merchant=MerchantTable(merchant if isinstance(merchant, Mapping) else {}))


@lru_cache
def all_cities() -> dict[str, City]:
    """The seed file's cities and those added at runtime (:func:`apply_document`), by slug."""
    return _load(Path(os.environ.get("PASARKOTA_CITIES_FILE", DEFAULT_FILE))) | {
        slug: city_of(doc) for slug, doc in _RUNTIME.items()}


def get_city(slug: str) -> City:
    """The city or a 404 problem. Use as the first step of every ``/cities/{city}/…`` route."""
    city = all_cities().get(slug)
    if city is None:
        raise Problem(404, f"Kota '{slug}' tidak dikenal. / Unknown city '{slug}'.", code="unknown-city")
    return city


@lru_cache
def _raw_tables() -> dict[str, dict[str, object]]:
    path = Path(os.environ.get("PASARKOTA_CITIES_FILE", DEFAULT_FILE))
    return {str(raw["slug"]): dict(raw) for raw in tomllib.loads(path.read_text()).get("city", [])} | {
        slug: dict(doc) for slug, doc in _RUNTIME.items()}


def city_section(slug: str, section: str) -> dict[str, object]:
    """A city's raw ``[city.<section>]`` table (e.g. ``notifications``), or ``{}``: the service that reads a
    section owns its meaning and validates it at start-up, as payments does with ``[city.merchant]``."""
    table = _raw_tables().get(slug, {}).get(section, {})
    return dict(table) if isinstance(table, dict) else {}


# ------------------------------------------------------------------------------------------------------------
# Cities added at runtime (issue #14): the directory identity owns publishes ``CityAdded``/``CityUpdated`` on the
# compacted ``identity.city.v1`` topic; every process applies them here (``shared.city_directory`` projects them
# into its schema's ``cities`` table first). The seed file stays the base directory: a runtime city never
# replaces a seed city. Secrets never travel with a city: see :func:`city_secret`.
# ------------------------------------------------------------------------------------------------------------

_RUNTIME: dict[str, dict[str, object]] = {}
_RUNTIME_VERSIONS: dict[str, int] = {}
_LISTENERS: list[Callable[[City], None]] = []


def seed_slugs() -> set[str]:
    """The slugs of the seed file (``PASARKOTA_CITIES_FILE``), never changed at runtime."""
    return set(all_cities()) - set(_RUNTIME)


def runtime_slugs() -> set[str]:
    return set(_RUNTIME)


def is_runtime_city(slug: str) -> bool:
    return slug in _RUNTIME


def on_city_added(listener: Callable[[City], None]) -> None:
    """Call ``listener(city)`` for every city added (or updated) at runtime — the ones already known at once.

    For what a service builds per city at start (body limits, merchants, rules): the same for a new city."""
    _LISTENERS.append(listener)
    for slug in sorted(_RUNTIME):
        listener(all_cities()[slug])


def apply_document(document: Mapping[str, object], version: int) -> bool:
    """Make a runtime city's document (a validated ``CityAdded``/``CityUpdated``) known to this process.

    Idempotent and ordered by ``version``: an older or equal version, or a seed city's slug, changes nothing
    (False). ``get_city``, ``all_cities`` and ``city_section`` see the new city at once."""
    slug = str(document.get("slug", ""))
    if not slug or slug in seed_slugs() or _RUNTIME_VERSIONS.get(slug, 0) >= version:
        return False
    _RUNTIME[slug] = dict(document)
    _RUNTIME_VERSIONS[slug] = version
    all_cities.cache_clear()
    _raw_tables.cache_clear()
    city = all_cities()[slug]
    for listener in list(_LISTENERS):
        try:
            listener(city)
        except Exception as exc:  # one service's listener must not keep the city from the others
            from shared.logging import get_logger

            get_logger(__name__).error("city listener failed", city=slug, error=repr(exc)[:300])
    return True


def forget_runtime_cities() -> None:
    """For tests: back to the seed file only."""
    _RUNTIME.clear()
    _RUNTIME_VERSIONS.clear()
    all_cities.cache_clear()
    _raw_tables.cache_clear()


def city_secret(slug: str, name: str) -> str | None:
    """A city's secret (``name``: ``WEBHOOK_SECRET``, ``WHATSAPP_TOKEN``, ``SMS_KEY``), read on every call.

    From the environment (``PASARKOTA_CITY_<SLUG>_<NAME>``), else from the secret store directory
    (``PASARKOTA_SECRETS_DIR``, one file per secret named ``city_<slug>_<name>`` in lower case — how a Kubernetes
    secret volume or a Vault agent renders them, updated in place), else None. Never from the city document."""
    value = os.environ.get(f"PASARKOTA_CITY_{slug.upper()}_{name.upper()}")
    if value:
        return value
    folder = os.environ.get("PASARKOTA_SECRETS_DIR")
    if folder and _SLUG.fullmatch(slug):
        try:
            found = (Path(folder) / f"city_{slug}_{name.lower()}").read_text().strip()
        except OSError:
            return None
        return found or None
    return None


def webhook_secret_of(slug: str) -> str | None:
    """The city's acquirer webhook secret, or None (a runtime city has no development default: it refuses
    webhooks until its secret is set). Seed cities keep ``dev-webhook-secret-<slug>`` outside production."""
    found = city_secret(slug, "WEBHOOK_SECRET")
    if found:
        return found
    if slug in seed_slugs():
        return f"dev-webhook-secret-{slug}"
    return None


# ------------------------------------------------------------------------------------------------ validation

_SLUG = re.compile(r"[a-z][a-z0-9]{1,29}")
_HHMM_RANGE = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")
_PATTERNS = {"postal_code": (re.compile(r"\d{5}"), "5 digits (kode pos)"),
             "mcc": (re.compile(r"\d{4}"), "exactly 4 digits (merchant category code)"),
             "nmid": (re.compile(r"ID[0-9A-Z]{1,20}"), "'ID' then upper-case letters or digits"),
             "acquirer_guid": (re.compile(r"[A-Z0-9]+(?:\.[A-Z0-9-]+)+"), "an upper-case reverse-domain name"),
             "acquirer_nns": (re.compile(r"9360\d{4}"), "8 digits starting with 9360"),
             "merchant_pan": (re.compile(r"\d{9,19}"), "9 to 19 digits"),
             "merchant_id": (re.compile(r"[\x20-\x7e]{1,64}"), "printable ASCII, at most 64 characters")}
MERCHANT_LIMITS = {"name": 25, "city": 15}  # QRIS (EMVCo) field lengths: a wallet shows these in full
MERCHANT_CRITERIA = ("UMI", "UKE", "UME", "UBE", "URE")
PROGRAMME_STYLES = ("in_person", "webinar", "hybrid")
TOP_FIELDS = ("slug", "name", "timezone", "delivery_fee", "payment_expiry_minutes", "programme_style",
              "merchant", "notifications", "delivery")
NOTIFICATION_FIELDS = ("quiet_hours", "whatsapp_phone_number_id", "whatsapp_display_number", "sms_sender",
                       "max_per_phone_per_hour", "max_per_city_per_minute", "daily_summary_at", "roster_at")
DELIVERY_FIELDS = ("slots", "slot_capacity", "days_ahead", "zones")
SECRET_WORDS = ("secret", "token", "password", "key")


class CityDocumentInvalid(Invalid):
    """A city document breaks a rule; ``field`` names where (``merchant.name``), for the form and the CLI."""

    def __init__(self, field: str, detail: str, code: str = "invalid-city") -> None:
        super().__init__(code, f"{field}: {detail}", field=field)
        self.field = field


def _fold(text: str) -> str:
    """As the QRIS encoder counts: accents stripped, printable ASCII only, whitespace collapsed."""
    kept = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return " ".join("".join(ch if " " <= ch <= "~" else (" " if ch.isspace() else "") for ch in kept).split())


def _text(doc: Mapping[str, object], key: str, field: str, *, max_length: int, required: bool = True,
          default: str | None = None) -> str | None:
    value = doc.get(key, default)
    if value is None:
        if required:
            raise CityDocumentInvalid(field, "wajib diisi. / required.")
        return None
    if not isinstance(value, str):
        raise CityDocumentInvalid(field, f"harus teks. / must be a string, got {type(value).__name__}.")
    if "\x00" in value or any(not ch.isprintable() for ch in value):
        raise CityDocumentInvalid(field, "berisi karakter yang tidak boleh. / contains a control character.")
    value = value.strip()
    if required and not value:
        raise CityDocumentInvalid(field, "wajib diisi. / required.")
    if len(value) > max_length:
        raise CityDocumentInvalid(field, f"paling banyak {max_length} karakter. / at most {max_length} characters, "
                                         f"got {len(value)}.")
    return value


def _whole(doc: Mapping[str, object], key: str, field: str, *, low: int, high: int, default: int) -> int:
    value = doc.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise CityDocumentInvalid(field, f"harus bilangan bulat {low}–{high}. / must be a whole number "
                                         f"{low}–{high}, got {value!r}."[:300])
    return value


def _table(doc: Mapping[str, object], key: str, known: tuple[str, ...], prefix: str,
           required: bool = False) -> Mapping[str, object] | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise CityDocumentInvalid(prefix.rstrip("."), "wajib diisi. / required.")
        return None
    if not isinstance(value, Mapping):
        raise CityDocumentInvalid(prefix.rstrip("."), "harus tabel. / must be a table.")
    for name in value:
        if any(word in str(name).lower() for word in SECRET_WORDS):
            raise CityDocumentInvalid(f"{prefix}{name}"[:80], "rahasia tidak boleh ada di berkas kota; pakai "
                                      "variabel lingkungan. / secrets never go in a city document: use the "
                                      "environment or the secret store.", code="secret-in-city-document")
        if name not in known:
            raise CityDocumentInvalid(f"{prefix}{name}"[:80], f"tidak dikenal. / unknown field (known: "
                                      f"{', '.join(known)}).")
    return value


def validate_document(doc: object, *, taken: Collection[str] = ()) -> dict[str, object]:
    """The normalised city document, or :class:`CityDocumentInvalid` naming the first bad field.

    The rules of every service that reads a city's sections, in one place (the directory refuses a city that
    some service could not serve): QRIS merchant of record (name ≤ 25, city ≤ 15 characters, numeric MCC ...),
    an IANA time zone, fees in integer rupiah, delivery slots and zones, notification limits. ``taken``: the
    slugs already in the directory (seed and runtime) — a duplicate is refused."""
    if not isinstance(doc, Mapping):
        raise CityDocumentInvalid("city", "harus tabel [[city]]. / must be a table.")
    _table({"city": doc}, "city", TOP_FIELDS, "", required=True)
    slug = _text(doc, "slug", "slug", max_length=30)
    assert slug is not None
    if not _SLUG.fullmatch(slug):
        raise CityDocumentInvalid("slug", "huruf kecil dan angka, 2–30, diawali huruf (contoh: bandung). / lower-case "
                                          "letters and digits, 2–30, starting with a letter.")
    if slug in taken:
        raise CityDocumentInvalid("slug", f"kota '{slug}' sudah ada. / city '{slug}' already exists.",
                                  code="duplicate-city")
    out: dict[str, object] = {"slug": slug, "name": _text(doc, "name", "name", max_length=80)}
    timezone = _text(doc, "timezone", "timezone", max_length=64, default="Asia/Jakarta")
    try:
        ZoneInfo(str(timezone))
    except (ValueError, ZoneInfoNotFoundError):
        raise CityDocumentInvalid("timezone", f"zona waktu tidak dikenal. / unknown time zone {timezone!r} "
                                              "(e.g. Asia/Jakarta, Asia/Makassar, Asia/Jayapura).") from None
    out["timezone"] = timezone
    out["delivery_fee"] = _whole(doc, "delivery_fee", "delivery_fee", low=0, high=1_000_000, default=0)
    out["payment_expiry_minutes"] = _whole(doc, "payment_expiry_minutes", "payment_expiry_minutes", low=1,
                                           high=120, default=15)
    style = _text(doc, "programme_style", "programme_style", max_length=20, default="in_person")
    if style not in PROGRAMME_STYLES:
        raise CityDocumentInvalid("programme_style", f"salah satu dari / one of {', '.join(PROGRAMME_STYLES)}.")
    out["programme_style"] = style
    out["merchant"] = _merchant(doc)
    if (notifications := _notifications(doc)) is not None:
        out["notifications"] = notifications
    if (delivery := _delivery(doc)) is not None:
        out["delivery"] = delivery
    return out


def _merchant(doc: Mapping[str, object]) -> dict[str, object]:
    keys = ("name", "city", *_PATTERNS, "criteria", "mdr_basis_points", "mdr_free_up_to")
    raw = _table(doc, "merchant", keys, "merchant.", required=True)
    assert raw is not None
    out: dict[str, object] = {}
    for key, limit in MERCHANT_LIMITS.items():
        value = _text(raw, key, f"merchant.{key}", max_length=200)
        assert value is not None
        if not _fold(value):
            raise CityDocumentInvalid(f"merchant.{key}", "tidak ada huruf ASCII. / no printable ASCII left.")
        if len(_fold(value)) > limit:
            raise CityDocumentInvalid(f"merchant.{key}", f"paling banyak {limit} karakter di QRIS. / at most {limit} "
                                                         f"characters in a QRIS, got {len(_fold(value))}.")
        out[key] = value
    for key, (pattern, what) in _PATTERNS.items():
        value = _text(raw, key, f"merchant.{key}", max_length=64)
        if not pattern.fullmatch(str(value)):
            raise CityDocumentInvalid(f"merchant.{key}", f"harus / must be {what}, got {value!r}.")
        out[key] = value
    if str(out["acquirer_guid"]) == "ID.CO.QRIS.WWW":
        raise CityDocumentInvalid("merchant.acquirer_guid", "GUID milik acquirer, bukan ID.CO.QRIS.WWW. / the "
                                                            "acquirer's own GUID, not the national one.")
    if not str(out["merchant_pan"]).startswith(str(out["acquirer_nns"])):
        raise CityDocumentInvalid("merchant.merchant_pan", "harus diawali NNS acquirer. / must start with the "
                                                           "acquirer NNS.")
    criteria = _text(raw, "criteria", "merchant.criteria", max_length=3)
    if criteria not in MERCHANT_CRITERIA:
        raise CityDocumentInvalid("merchant.criteria", f"salah satu dari / one of {', '.join(MERCHANT_CRITERIA)}.")
    out["criteria"] = criteria
    out["mdr_basis_points"] = _whole(raw, "mdr_basis_points", "merchant.mdr_basis_points", low=0, high=1000,
                                     default=0)
    out["mdr_free_up_to"] = _whole(raw, "mdr_free_up_to", "merchant.mdr_free_up_to", low=0, high=100_000_000,
                                   default=0)
    return out


def _clock_range(raw: Mapping[str, object], key: str, field: str, *, allow_off: bool) -> str | None:
    value = _text(raw, key, field, max_length=11, required=False)
    if value is None:
        return None
    if allow_off and value.lower() == "off":
        return "off"
    m = _HHMM_RANGE.fullmatch(value)
    if not m or m.group(1, 2) == m.group(3, 4):
        raise CityDocumentInvalid(field, "harus 'JJ:MM-JJ:MM'. / must be 'HH:MM-HH:MM'" +
                                  (" or 'off'." if allow_off else "."))
    return value


def _notifications(doc: Mapping[str, object]) -> dict[str, object] | None:
    raw = _table(doc, "notifications", NOTIFICATION_FIELDS, "notifications.")
    if raw is None:
        return None
    out: dict[str, object] = {}
    if (quiet := _clock_range(raw, "quiet_hours", "notifications.quiet_hours", allow_off=True)) is not None:
        out["quiet_hours"] = quiet
    for key in ("daily_summary_at", "roster_at"):
        value = _text(raw, key, f"notifications.{key}", max_length=5, required=False)
        if value is not None:
            if value.lower() != "off" and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
                raise CityDocumentInvalid(f"notifications.{key}", "harus 'JJ:MM' atau 'off'. / 'HH:MM' or 'off'.")
            out[key] = value
    phone_id = _text(raw, "whatsapp_phone_number_id", "notifications.whatsapp_phone_number_id", max_length=20,
                     required=False)
    if phone_id is not None:
        if not phone_id.isdigit():
            raise CityDocumentInvalid("notifications.whatsapp_phone_number_id", "harus angka. / digits only.")
        out["whatsapp_phone_number_id"] = phone_id
    for key, limit in (("whatsapp_display_number", 20), ("sms_sender", 11)):
        value = _text(raw, key, f"notifications.{key}", max_length=limit, required=False)
        if value is not None:
            out[key] = value
    for key, default in (("max_per_phone_per_hour", 30), ("max_per_city_per_minute", 600)):
        out[key] = _whole(raw, key, f"notifications.{key}", low=1, high=100_000, default=default)
    return out


def _delivery(doc: Mapping[str, object]) -> dict[str, object] | None:
    raw = _table(doc, "delivery", DELIVERY_FIELDS, "delivery.")
    if raw is None:
        return None
    slots = raw.get("slots", [])
    if not isinstance(slots, list) or len(slots) > 12:
        raise CityDocumentInvalid("delivery.slots", "daftar paling banyak 12 jam. / a list of at most 12 windows.")
    windows = []
    for window in slots:
        if not isinstance(window, str) or not (m := _HHMM_RANGE.fullmatch(window)) or m.group(1, 2) >= m.group(3, 4):
            raise CityDocumentInvalid("delivery.slots", f"{str(window)[:20]!r} bukan 'JJ:MM-JJ:MM'. / not "
                                                        "'HH:MM-HH:MM' (start before end).")
        windows.append(window)
    zones = raw.get("zones", {})
    if not isinstance(zones, Mapping) or len(zones) > 300:
        raise CityDocumentInvalid("delivery.zones", "tabel kelurahan = ongkir (paling banyak 300). / a table of "
                                                    "kelurahan = fee (at most 300).")
    fees: dict[str, int] = {}
    for name in zones:
        label = str(name)
        if not label.strip() or len(label) > 60 or "\x00" in label or not label.isprintable():
            raise CityDocumentInvalid("delivery.zones", f"nama kelurahan tidak valid. / bad kelurahan name "
                                                        f"{label[:20]!r}.")
        fees[label] = _whole(zones, name, f"delivery.zones.{label}", low=0, high=1_000_000, default=-1)
    return {"slots": windows, "zones": fees,
            "slot_capacity": _whole(raw, "slot_capacity", "delivery.slot_capacity", low=1, high=10_000, default=20),
            "days_ahead": _whole(raw, "days_ahead", "delivery.days_ahead", low=0, high=14, default=3)}


class LiveDirectory(Mapping[str, City]):
    """``all_cities()`` read on every access: hand this (not a snapshot) to what is built once at start and
    must see cities added later (payments' issuing)."""

    def __getitem__(self, slug: str) -> City:
        return all_cities()[slug]

    def __iter__(self) -> Iterator[str]:
        return iter(all_cities())

    def __len__(self) -> int:
        return len(all_cities())


live_cities = LiveDirectory()


class CitySecrets(dict[str, str]):
    """City → one kind of secret (``WHATSAPP_TOKEN``, ``SMS_KEY``): the start-up values, and for a city without
    one (added at runtime, or its secret set later) :func:`city_secret` re-read on every lookup."""

    def __init__(self, name: str, initial: Mapping[str, str]) -> None:
        super().__init__(initial)
        self.name = name

    def get(self, slug: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(slug) or city_secret(slug, self.name) or default
