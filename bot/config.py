"""Settings from the environment or `.env` (pydantic-settings).

A wrong or missing value stops start-up with one line naming the variable
(see :func:`load_settings`), never a traceback.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SUPPORTED_LOCALES = ("uk", "ru", "bg", "en")


class ConfigError(Exception):
    """A setting is wrong; the message is one human line naming the variable."""


def _split_ids(value: object) -> object:
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(";", ",").split(",")]
        return [p for p in parts if p]
    if isinstance(value, int):
        return [value]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: str | None = None
    database_url: str = "sqlite+aiosqlite:///data/hromada.db"
    redis_url: str | None = None
    telegram_api_url: str | None = None
    # the community's language: the fallback for residents without a translation, the
    # organizers' chat, the moderators' group (empty: the community file's `locale`, else en)
    default_locale: str = ""
    # the one language of everything the bot writes in the moderators' group (empty: DEFAULT_LOCALE)
    moderators_locale: str | None = None
    timezone: str = "Europe/Kyiv"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    moderators_chat_id: int | None = None
    organizers_chat_id: int | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_port: int = 8080
    webhook_host: str = "127.0.0.1"  # behind the reverse proxy; 0.0.0.0 only if Telegram reaches this host directly
    # several worker processes sharing WEBHOOK_PORT (webhook mode, PostgreSQL and Redis; bot.workers)
    workers: int = Field(default=1, ge=1, le=64)
    # how often a worker that is not the leader tries to take the leader lock (and the leader
    # checks its connection), in seconds (bot.leader)
    leader_retry_seconds: float = Field(default=12.0, gt=0, le=60)
    community_file: Path = Path("communities/kherson.toml")
    # delivery engine
    send_rate_per_sec: float = 30.0
    quiet_hours: str = "22:00-08:00"
    log_level: str = "INFO"
    # issue reports
    reports_per_hour: int = Field(default=5, ge=1)
    report_stale_hours: int = Field(default=48, ge=1)
    report_followup_days: int = Field(default=3, ge=1)
    # polls and surveys
    secret_key: str | None = None
    poll_min_group: int = Field(default=5, ge=1)
    # discussions: opinion groups (and any slice shown) have at least this many people
    discussion_min_group: int = Field(default=5, ge=2)
    # events: reminders this many hours before the start, to those going
    event_reminder_hours: Annotated[list[float], NoDecode] = Field(default_factory=lambda: [24.0, 2.0])
    # organizers' digest (/digest): daily ones at this hour, weekly ones on this day at this hour
    digest_hour: int = Field(default=9, ge=0, le=23)
    digest_weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    # the public channel results are published to (-100... or @name; the bot posts as an admin)
    public_channel_id: str | None = None
    public_channel_locales: Annotated[list[str], NoDecode] = Field(default_factory=list)  # empty: DEFAULT_LOCALE
    # the organizers' dashboard (bot/dashboard): at /app/ on the webhook server in webhook mode;
    # in polling mode on a server of its own on DASHBOARD_PORT (off when empty)
    dashboard_url: str | None = None  # its public https address (the Mini App button, sign-in links)
    dashboard_port: int | None = Field(default=None, ge=1, le=65535)
    dashboard_auth_max_age: int = Field(default=86400, ge=60)  # seconds a Mini App's initData is valid

    def model_post_init(self, __context: object) -> None:
        if not self.default_locale:
            self.default_locale = community_locale(self.community_file) or "en"
        if self.bot_token:  # from the moment the token is known, no log line can carry it
            from bot.redact import install

            install(self.bot_token)

    @property
    def moderators_chat_locale(self) -> str:
        """The language of the moderators' group: MODERATORS_LOCALE, else the community's default."""
        return self.moderators_locale or self.default_locale

    @property
    def channel_locales(self) -> list[str]:
        return self.public_channel_locales or [self.default_locale]

    @field_validator("public_channel_locales", mode="before")
    @classmethod
    def _channel_locales(cls, value: object) -> object:
        if isinstance(value, str):
            codes = [v.strip().lower() for v in value.replace(";", ",").split(",") if v.strip()]
            wrong = [c for c in codes if c not in SUPPORTED_LOCALES]
            if wrong:
                raise ValueError(f"expected languages among {', '.join(SUPPORTED_LOCALES)}, got {', '.join(wrong)}")
            return list(dict.fromkeys(codes))
        return value

    @property
    def digest_weekday_number(self) -> int:
        return ("mon", "tue", "wed", "thu", "fri", "sat", "sun").index(self.digest_weekday)

    @field_validator("digest_weekday", mode="before")
    @classmethod
    def _weekday(cls, value: object) -> object:
        return value.strip().lower()[:3] if isinstance(value, str) else value

    @field_validator("event_reminder_hours", mode="before")
    @classmethod
    def _reminder_hours(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                hours = [float(v) for v in value.replace(";", ",").split(",") if v.strip()]
            except ValueError:
                raise ValueError("give hours before the start, separated by commas, e.g. 24,2") from None
            if any(not 0 < h <= 24 * 14 for h in hours):
                raise ValueError("each reminder is from 0 to 336 hours before the start")
            return hours
        return value

    def missing_optional(self) -> list[str]:
        """One line per optional setting left empty, with what it disables (logged at start-up)."""
        lines = []
        if not self.admin_ids:
            lines.append("ADMIN_IDS is empty: nobody can grant roles; /whoami tells a person their id")
        if self.moderators_chat_id is None:
            lines.append("MODERATORS_CHAT_ID is empty: reports have no moderators' cards; /chatid in the group tells its id")
        if self.organizers_chat_id is None:
            lines.append("ORGANIZERS_CHAT_ID is empty: results, speaker questions and digests go to no organizers' chat")
        if not self.public_channel_id:
            lines.append("PUBLIC_CHANNEL_ID is empty: nothing can be published to a public channel")
        if not self.dashboard_url:
            lines.append("DASHBOARD_URL is empty: no Mini App button and no /dashboard sign-in links")
        return lines

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        return _split_ids(value)

    @field_validator(
        "bot_token", "redis_url", "telegram_api_url", "webhook_url", "webhook_secret", "secret_key",
        "public_channel_id", "dashboard_url", mode="before"
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("moderators_chat_id", "organizers_chat_id", "dashboard_port", mode="before")
    @classmethod
    def _empty_int(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("bot_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is not None:
            head, _, tail = value.partition(":")
            if not head.isdigit() or not tail:
                raise ValueError("expected a token from @BotFather like 123456:ABC-DEF")
        return value

    @field_validator("default_locale", "moderators_locale")
    @classmethod
    def _locale(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return "" if info.field_name == "default_locale" else None
        value = value.strip().lower()
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"expected one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Europe/Kyiv or Europe/Sofia") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _db(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "expected sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
            )
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        local = value is not None and value.startswith(("http://127.0.0.1", "http://localhost"))
        if value is not None and not value.startswith("https://") and not local:
            raise ValueError("expected a public https:// URL")
        return value

    @field_validator("dashboard_url")
    @classmethod
    def _dashboard(cls, value: str | None) -> str | None:
        local = value is not None and value.startswith(("http://127.0.0.1", "http://localhost"))
        if value is not None and not value.startswith("https://") and not local:
            raise ValueError("expected a public https:// URL such as https://bot.example.org/app/")
        return value.rstrip("/") + "/" if value is not None else None

    @property
    def dashboard_enabled(self) -> bool:
        """Served: in webhook mode always (on the webhook's server), in polling mode on DASHBOARD_PORT."""
        return bool(self.webhook_url) or self.dashboard_port is not None

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        value = value.strip()
        if value and parse_quiet_hours(value) is None:
            raise ValueError("expected HH:MM-HH:MM such as 22:00-08:00, or empty to disable")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sandbox(self) -> bool:
        return self.bot_token is None

    def workers_problem(self, workers: int | None = None) -> str | None:
        """Why several workers cannot run with these settings (one line naming the setting), or None."""
        count = self.workers if workers is None else workers
        if count <= 1:
            return None
        if not self.webhook_url:
            return (f"Setting WORKERS: {count} workers need webhook mode (WEBHOOK_URL); long polling runs "
                    "as one process, since Telegram allows one poller")
        if self.database_url.startswith("sqlite"):
            return (f"Setting WORKERS: {count} workers need PostgreSQL in DATABASE_URL; SQLite is for "
                    "one process")
        if not self.redis_url:
            return (f"Setting WORKERS: {count} workers need REDIS_URL, where they share conversation "
                    "state and each person's update order")
        return None


def community_locale(path: Path) -> str | None:
    """The language a community file names (``locale = "uk"``), or None (also when the file is
    missing or broken: loading the community reports that, naming the file)."""
    import tomllib

    from bot.community import resolve

    try:
        raw = tomllib.loads(resolve(Path(path)).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    value = str(raw.get("locale") or "").strip().lower()
    return value if value in SUPPORTED_LOCALES else None


def parse_quiet_hours(value: str) -> tuple[int, int] | None:
    """'22:00-08:00' -> (1320, 480) minutes of day; None when malformed."""
    try:
        start, end = value.split("-")
        out = []
        for part in (start, end):
            hh, mm = part.strip().split(":")
            h, m = int(hh), int(mm)
            if not (0 <= h < 24 and 0 <= m < 60):
                return None
            out.append(h * 60 + m)
        return out[0], out[1]
    except ValueError:
        return None


def load_settings(**overrides: object) -> Settings:
    """Build settings; raise ConfigError with one line per wrong variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            msg = err["msg"].removeprefix("Value error, ")
            got = err.get("input")
            shown = f" (got {got!r})" if isinstance(got, (str, int)) and name != "BOT_TOKEN" else ""
            lines.append(f"Setting {name}: {msg}{shown}")
        raise ConfigError("; ".join(lines)) from None
