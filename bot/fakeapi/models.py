"""Plain data types shared by the fake server and the user-side driver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ApiError(Exception):
    """A Telegram-shaped error: ``{"ok": false, "error_code": code, "description": ...}``."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class Limits:
    """Telegram's flood limits, off by default.

    A send is refused with 429 when, counting the sends already accepted in the sliding window,

    * a private chat got ``per_private_chat_per_sec + burst`` messages within 1 s,
    * a group got ``per_group_per_min + group_burst`` messages within 60 s,
    * the bot sent ``global_per_sec`` messages within 1 s overall.

    Windows are divided by ``time_scale`` (10 -> a private chat takes ten times as many messages
    per real second); ``retry_after`` is reported in unscaled "Telegram seconds", rounded up, >= 1.
    Only message-creating methods count (send*, copyMessage, forwardMessage); a media group counts
    as one send per item.
    """

    enabled: bool = False
    per_private_chat_per_sec: int = 1
    per_group_per_min: int = 20
    global_per_sec: int = 30
    time_scale: float = 1.0
    burst: int = 1
    group_burst: int = 0


@dataclass
class ApiCall:
    """One request the bot made (including the failed ones)."""

    method: str
    params: dict[str, Any]
    ok: bool
    error_code: int | None
    ts: float
    description: str | None = None


@dataclass(repr=False)
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None

    def __repr__(self) -> str:
        return f"Upload({self.filename!r}, {len(self.data)} bytes)"


@dataclass(repr=False)
class StoredFile:
    """A file known to the fake (uploaded by the bot or sent by a user)."""

    file_id: str
    file_unique_id: str
    kind: str  # photo, document, voice, video, audio, animation, sticker, video_note
    content: bytes = b""
    filename: str | None = None
    mime_type: str | None = None
    file_path: str = ""
    url: str | None = None  # when the bot passed an HTTP URL instead of uploading

    def __repr__(self) -> str:
        return f"StoredFile({self.kind}, {self.file_id[:16]}..., {self.filename!r}, {len(self.content)} bytes)"


@dataclass
class SentMessage:
    """A message in a chat's history, as the fake sees it.

    ``text`` is the plain text (after HTML parsing) or the caption; ``html`` is what the bot
    sent verbatim.  ``raw`` is the current Telegram ``Message`` object.
    """

    chat_id: int
    message_id: int
    text: str = ""
    html: str = ""
    entities: list[dict] = field(default_factory=list)
    parse_mode: str | None = None
    reply_markup: dict | None = None
    kind: str = "text"
    file_id: str | None = None
    filename: str | None = None
    message_thread_id: int | None = None
    reply_to_message_id: int | None = None
    deleted: bool = False
    edits: int = 0
    from_bot: bool = True
    date: int = 0
    from_id: int | None = None
    media_group_id: str | None = None
    pinned: bool = False
    delivered: bool = True  # user messages in groups may be hidden from the bot by privacy mode
    reactions: list[dict] = field(default_factory=list)
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def inline_keyboard(self) -> list[list[dict]]:
        """The rows of inline buttons (empty when there is no inline keyboard)."""
        if not self.reply_markup:
            return []
        return list(self.reply_markup.get("inline_keyboard") or [])

    @property
    def buttons(self) -> list[str]:
        """Inline button texts, row-major."""
        return [button.get("text", "") for row in self.inline_keyboard for button in row]

    def find_button(self, text: str, *, exact: bool = True) -> dict | None:
        for row in self.inline_keyboard:
            for button in row:
                label = button.get("text", "")
                if (label == text) if exact else (text in label):
                    return button
        return None
