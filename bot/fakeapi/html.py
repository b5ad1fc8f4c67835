"""Telegram-flavoured HTML parser, a port of tdlib's ``parse_html`` (what the Bot API runs).

``parse_html(text)`` returns the plain text and the list of MessageEntity dicts (offsets and
lengths in UTF-16 code units) or raises :class:`HtmlError` with the same description Telegram
puts after ``"Bad Request: can't parse entities: "``.

Faithful quirks worth knowing:

* Only ``&lt; &gt; &amp; &quot;`` and numeric references are decoded (``;`` optional).  Any other
  ``&`` (``&nbsp;``, ``Tom & Jerry``) is kept literally by Telegram - *not* an error.  Pass
  ``strict=True`` to report such ampersands anyway; that is stricter than Telegram and meant to
  catch forgotten ``html.escape`` calls.
* A bare ``<`` is always an error (``Unsupported start tag ""``), so is ``<br>``.
* ``<a href>`` with an invalid URL silently produces no entity.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["HtmlError", "check_url", "parse_html", "utf16_len"]

_SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "span", "pre", "code", "blockquote",
    }
)
_SIMPLE = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = frozenset(" \t\r\n\v\0")  # tdlib's is_space() also matches the NUL terminator
_URL_SCHEMES = frozenset({"http", "https", "tg", "ton", "ftp"})


class HtmlError(ValueError):
    """The text is not valid Telegram HTML; ``description`` is Telegram's wording."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for limits and entity offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int  # UTF-16 offset in the result
    start: int  # index into the result chunks, to recover the link text of <a> without href


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference at ``text[pos] == '&'`` like tdlib; None if it is none."""
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        code = 0
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in string.hexdigits:
                code = code * 16 + int(text[end], 16)
                end += 1
        else:
            while end < n and text[end] in string.digits:
                code = code * 10 + int(text[end])
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
        char = chr(code)
    else:
        while end < n and text[end] in string.ascii_letters:
            end += 1
        named = _NAMED.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if end < n and text[end] == ";":
        end += 1
    return char, end


def check_url(url: str) -> str | None:
    """Normalise a link target the way Telegram does, or None if it is not a valid URL."""
    url = url.strip()
    if not url or any(ch in _SPACES for ch in url):
        return None
    if "://" not in url and not url.startswith(("tg:", "ton:")):
        url = "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _URL_SCHEMES:
        return None
    if scheme in ("tg", "ton"):
        return url
    host = parts.hostname or ""
    if not host or not (("." in host and not host.endswith(".")) or host == "localhost"):
        return None
    if not parts.path:
        url = url.replace(parts.netloc, parts.netloc + "/", 1) if not (parts.query or parts.fragment) else url
    return url


def parse_html(text: str, *, strict: bool = False) -> tuple[str, list[dict]]:
    """Parse Telegram HTML into ``(plain_text, entities)`` or raise :class:`HtmlError`."""
    n = len(text)

    def at(i: int) -> str:
        return text[i] if i < n else "\0"

    def byte_offset(i: int) -> int:
        return len(text[:i].encode("utf-8", "surrogatepass"))

    chunks: list[str] = []
    u16 = 0
    entities: list[dict] = []
    stack: list[_Open] = []
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                char, i = decoded
                chunks.append(char)
                u16 += utf16_len(char)
                continue
            if strict and (at(i + 1) == "#" or at(i + 1) in string.ascii_letters):
                raise HtmlError(
                    f"[fake strict mode] Unescaped \"&\" at byte offset {byte_offset(i)} "
                    "(Telegram would show it literally; escape it as &amp;)"
                )
        if c != "<":
            chunks.append(c)
            u16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            # start tag
            while at(i) not in _SPACES and at(i) != ">":
                i += 1
            if i >= n:
                raise HtmlError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _SUPPORTED_TAGS:
                raise HtmlError(f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}')
            argument = ""
            while at(i) != ">":
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) == ">":
                    break
                attr_begin = i
                while at(i) not in _SPACES and at(i) not in "=>":
                    i += 1
                attr = text[attr_begin:i]
                if not attr:
                    raise HtmlError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(begin)}'
                    )
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attr == "expandable":
                        argument = "1"
                        continue
                    raise HtmlError(
                        'Expected equal sign in declaration of an attribute of the tag '
                        f'"{tag}" at byte offset {byte_offset(begin)}'
                    )
                i += 1
                while i < n and at(i) in _SPACES:
                    i += 1
                if i >= n:
                    raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
                if at(i) not in "'\"":
                    token_begin = i
                    while at(i).isascii() and (at(i).isalnum() or at(i) in ".-") and i < n:
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _SPACES and at(i) != ">":
                        raise HtmlError(
                            f"Unexpected end of name token at byte offset {byte_offset(token_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    value_chars: list[str] = []
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            decoded = _decode_entity(text, i)
                            if decoded is not None:
                                value_chars.append(decoded[0])
                                i = decoded[1]
                                continue
                        value_chars.append(text[i])
                        i += 1
                    if i < n:
                        i += 1
                    value = "".join(value_chars)
                if i >= n:
                    raise HtmlError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                if tag == "a" and attr == "href":
                    argument = value
                elif tag == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attr == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attr == "emoji-id":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise HtmlError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                )
            stack.append(_Open(tag, argument, u16, len(chunks)))
            i += 1  # skip '>'
            continue

        # end tag
        if not stack:
            raise HtmlError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        while at(i) not in _SPACES and at(i) != ">":
            i += 1
        end_tag = text[begin + 2 : i]
        while i < n and at(i) in _SPACES:
            i += 1
        if at(i) != ">":
            raise HtmlError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        i += 1
        opened = stack.pop()
        if end_tag and end_tag != opened.tag:  # case-sensitive, like tdlib
            raise HtmlError(
                f"Unmatched end tag at byte offset {byte_offset(begin)}, "
                f'expected "</{opened.tag}>", found "</{end_tag}>"'
            )
        if u16 > opened.offset:
            _close_entity(opened, u16 - opened.offset, "".join(chunks[opened.start :]), entities)

    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    result = "".join(chunks)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in result):
        raise HtmlError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return result, entities


def _close_entity(opened: _Open, length: int, inner_text: str, entities: list[dict]) -> None:
    offset, tag, arg = opened.offset, opened.tag, opened.argument
    if tag in _SIMPLE:
        entities.append({"type": _SIMPLE[tag], "offset": offset, "length": length})
    elif tag == "a":
        url = arg or inner_text
        if url.startswith("tg://user?id=") and url[len("tg://user?id=") :].isdigit():
            user = {"id": int(url[len("tg://user?id=") :]), "is_bot": False, "first_name": ""}
            entities.append({"type": "text_mention", "offset": offset, "length": length, "user": user})
        elif (checked := check_url(url)) is not None:
            entities.append({"type": "text_link", "offset": offset, "length": length, "url": checked})
    elif tag == "tg-emoji":
        if not arg.isdigit() or not 0 < int(arg) < 2**63:
            raise HtmlError("Invalid custom emoji identifier specified")
        entities.append(
            {"type": "custom_emoji", "offset": offset, "length": length, "custom_emoji_id": arg}
        )
    elif tag == "blockquote":
        kind = "expandable_blockquote" if arg else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})
    elif tag == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and (last["offset"], last["length"]) == (offset, length)
            and last.get("language")
        ):
            last["type"] = "pre"
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif tag == "code":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "pre"
            and (last["offset"], last["length"]) == (offset, length)
            and arg
        ):
            last["language"] = arg
        else:
            # the language is kept provisionally so an enclosing <pre> can adopt it
            entity = {"type": "code", "offset": offset, "length": length}
            if arg:
                entity["language"] = arg
            entities.append(entity)
