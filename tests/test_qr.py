"""bot.qr: QR codes rendered to PNG bytes."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.qr import qr_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LINK = "https://t.me/hromada_bot?start=checkin_3f9a1c"


def _open(data: bytes) -> Image.Image:
    assert data.startswith(PNG_MAGIC)
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    return image


def test_png_is_square_with_quiet_zone() -> None:
    image = _open(qr_png(LINK))
    assert image.width == image.height
    assert image.width % 10 == 0
    gray = image.convert("L")
    # Quiet zone: the outer 4 modules (40 px) are white, the symbol inside is not.
    border = 40
    assert gray.crop((0, 0, image.width, border)).getextrema() == (255, 255)
    assert gray.crop((0, 0, border, image.height)).getextrema() == (255, 255)
    assert gray.crop((border, border, border + 10, border + 10)).getextrema() == (0, 0)  # finder pattern


def test_deterministic() -> None:
    assert qr_png(LINK) == qr_png(LINK)
    assert qr_png(LINK, scale=4) == qr_png(LINK, scale=4)


def test_longer_data_gives_larger_image() -> None:
    short = _open(qr_png("https://t.me/hromada_bot?start=c1"))
    long = _open(qr_png(LINK + "x" * 200))
    assert long.width > short.width


def test_scale() -> None:
    small = _open(qr_png(LINK, scale=2))
    large = _open(qr_png(LINK, scale=10))
    assert large.width == small.width * 5


def test_invalid_scale_raises() -> None:
    with pytest.raises(ValueError):
        qr_png(LINK, scale=0)
