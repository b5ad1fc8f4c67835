"""The community's districts and report categories, read from a small TOML file."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Named:
    code: str
    names: dict[str, str]

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names.get("en") or self.code


@dataclass(frozen=True)
class Community:
    names: dict[str, str]
    districts: list[Named]
    categories: list[Named]
    timezone: str | None = None
    center: tuple[float, float] | None = None
    radius_km: float | None = None
    currency: str | None = None  # ISO 4217 code of budgets (UAH, EUR); None: plain numbers
    contact: str | None = None  # the organizers' address (an e-mail or an https link), e.g. in .ics files
    bodies: list[Named] = field(default_factory=list)  # whom recommendations are addressed to
    locale: str | None = None  # the community's language (uk, ru, bg, en): DEFAULT_LOCALE when that is not set
    address_example: dict[str, str] = field(default_factory=dict)  # a local address, per language

    def example_address(self, locale: str) -> str | None:
        """The community's sample address in ``locale`` (its streets are its own, not the catalogs')."""
        return self.address_example.get(locale) or self.address_example.get("en") or None

    def body(self, code: str | None) -> Named | None:
        return next((b for b in self.bodies if b.code == code), None)

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names.get("en", "")

    def district(self, code: str | None) -> Named | None:
        return next((d for d in self.districts if d.code == code), None)

    def category(self, code: str | None) -> Named | None:
        return next((c for c in self.categories if c.code == code), None)

    def district_name(self, code: str | None, locale: str) -> str:
        found = self.district(code)
        return found.name(locale) if found else (code or "—")


class CommunityError(Exception):
    pass


def _named(items: object, what: str) -> list[Named]:
    if not isinstance(items, list) or not items:
        raise CommunityError(f"expected at least one [[{what}]] entry")
    out = []
    for item in items:
        if not isinstance(item, dict) or "code" not in item or not isinstance(item.get("name"), dict):
            raise CommunityError(f"each [[{what}]] needs code and name = {{ uk = ..., en = ... }}")
        out.append(Named(str(item["code"]), {str(k): str(v) for k, v in item["name"].items()}))
    codes = [n.code for n in out]
    if len(set(codes)) != len(codes):
        raise CommunityError(f"duplicate code in [[{what}]]")
    return out


# Whom a recommendation is addressed to when the community file names no [[bodies]].
DEFAULT_BODIES = (
    Named("council", {"uk": "Міська рада", "ru": "Городской совет", "bg": "Общински съвет",
                      "en": "City council"}),
    Named("mayor", {"uk": "Міський голова", "ru": "Городской голова", "bg": "Кмет",
                    "en": "Mayor"}),
)


PROJECT_DIR = Path(__file__).resolve().parent.parent


def resolve(path: Path | str) -> Path:
    """A relative path not found from here is looked up in the project (so the shipped
    `communities/*.toml` work whatever the current directory)."""
    path = Path(path)
    if not path.is_absolute() and not path.exists() and (PROJECT_DIR / path).exists():
        path = PROJECT_DIR / path
    return path


LOCALES = ("uk", "ru", "bg", "en")


def load_community(path: Path | str) -> Community:
    """Read a community file (see :func:`resolve` for where it is looked up)."""
    path = resolve(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CommunityError(f"file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise CommunityError(f"{path} is not valid TOML: {exc}") from None
    center = raw.get("center")
    locale = str(raw["locale"]).strip().lower() if raw.get("locale") else None
    if locale is not None and locale not in LOCALES:
        raise CommunityError(f"{path}: locale is one of {', '.join(LOCALES)}, not {locale!r}")
    return Community(
        names={str(k): str(v) for k, v in (raw.get("name") or {}).items()},
        districts=_named(raw.get("districts"), "districts"),
        categories=_named(raw.get("categories"), "categories"),
        timezone=raw.get("timezone"),
        center=(float(center["lat"]), float(center["lon"])) if center else None,
        radius_km=float(raw["radius_km"]) if "radius_km" in raw else None,
        currency=str(raw["currency"]).upper() if raw.get("currency") else None,
        contact=str(raw["contact"]).strip() if raw.get("contact") else None,
        bodies=_named(raw["bodies"], "bodies") if raw.get("bodies") else list(DEFAULT_BODIES),
        locale=locale,
        address_example={str(k): str(v) for k, v in (raw.get("address_example") or {}).items()},
    )
