"""Rendered Vietnamese licence plates for the plate reader's tests and benchmark.

White plate, black border, black characters in DejaVu Sans Condensed Bold (the plates' own typeface is
tall and narrow, like it): one-line long car plates (``51F-123.45``), two-line square car plates
(``51F`` over ``123.45``) and two-line motorbike plates (``59-S1`` over ``234.56``), at a chosen glyph
height (the height of a digit, in pixels), with optional blur, a small perspective warp, a slight
rotation, sensor noise, JPEG compression and a margin of textured background. Everything random
comes from a seeded ``random.Random``: the same seed gives the same plates.

The plate texts follow the grammar of ``analytics.plates.grammar`` but are written here on their own,
so that the grammar is checked against them rather than used to make them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_PATHS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
)
SERIES_LETTERS = "ABCDEFGHKLMNPSTUVXYZ"
HCMC_PROVINCES = (41, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59)


@dataclass(frozen=True)
class PlateSpec:
    """What is printed on a plate: its lines and its canonical text."""

    kind: str  # "car" (one line), "car-square" (two lines) or "motorbike" (two lines)
    lines: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class RenderedPlate:
    spec: PlateSpec
    image: np.ndarray = field(repr=False, compare=False)  # BGR uint8
    glyph_height: int
    blur: float
    box: tuple[int, int, int, int]  # the plate's outline in the image, x0 y0 x1 y1

    @property
    def text(self) -> str:
        return self.spec.text


def random_spec(rng: random.Random) -> PlateSpec:
    """A random plate that follows the civil grammar: mostly Ho Chi Minh City, mostly 5-digit serials."""
    province = rng.choice(HCMC_PROVINCES) if rng.random() < 0.6 else rng.randint(11, 99)
    digits = 5 if rng.random() < 0.85 else 4
    serial = "".join(rng.choice("0123456789") for _ in range(digits))
    number = f"{serial[:3]}.{serial[3:]}" if digits == 5 else serial
    roll = rng.random()
    if roll < 0.45:
        series = rng.choice(SERIES_LETTERS) + (rng.choice(SERIES_LETTERS) if rng.random() < 0.1 else "")
        text = f"{province}{series}-{number}"
        return PlateSpec("car", (text,), text)
    if roll < 0.55:
        series = rng.choice(SERIES_LETTERS)
        return PlateSpec("car-square", (f"{province}{series}", number), f"{province}{series}-{number}")
    series = rng.choice(SERIES_LETTERS) + rng.choice("123456789")
    return PlateSpec("motorbike", (f"{province}-{series}", number), f"{province}-{series} {number}")


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    for path in FONT_PATHS:
        if path.exists():
            return ImageFont.truetype(str(path), size)
    raise FileNotFoundError(f"no DejaVu bold font in {[str(p) for p in FONT_PATHS]} (apt: fonts-dejavu-core)")


@cache
def _font_for(glyph_height: int) -> ImageFont.FreeTypeFont:
    """The font size whose digits are ``glyph_height`` pixels tall."""
    size = glyph_height
    for _ in range(6):
        box = _font(size).getbbox("0123456789")
        size = max(4, round(size * glyph_height / (box[3] - box[1])))
    return _font(size)


def draw_plate(lines: tuple[str, ...], glyph_height: int) -> np.ndarray:
    """The flat plate, no margin: RGB uint8."""
    font = _font_for(glyph_height)
    digit_box = font.getbbox("0123456789")
    widths = [font.getbbox(line)[2] - font.getbbox(line)[0] for line in lines]
    pad_x = round(glyph_height * 0.45)
    pad_y = round(glyph_height * 0.28)
    gap = round(glyph_height * 0.38)
    width = max(widths) + 2 * pad_x
    height = len(lines) * glyph_height + (len(lines) - 1) * gap + 2 * pad_y
    plate = Image.new("RGB", (width, height), (244, 244, 240))
    draw = ImageDraw.Draw(plate)
    border = max(2, round(glyph_height / 14))
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=border * 2, outline=(18, 18, 18), width=border)
    for i, line in enumerate(lines):
        box = font.getbbox(line)
        x = (width - (box[2] - box[0])) / 2 - box[0]
        y = pad_y + i * (glyph_height + gap) - digit_box[1]
        draw.text((x, y), line, fill=(22, 22, 22), font=font)
    return np.asarray(plate)


def render(
    spec: PlateSpec,
    glyph_height: int,
    *,
    rng: random.Random,
    blur: float = 0.0,
    warp: float = 0.06,
    angle: float = 3.0,
    noise: float = 4.0,
    jpeg: int | None = 85,
) -> RenderedPlate:
    """The plate on a background, tilted by up to ``angle`` degrees, its corners moved by up to ``warp`` of its size.

    ``blur`` is the Gaussian sigma in pixels (0: sharp), ``noise`` the sensor noise's sigma in grey levels.
    """
    plate = cv2.cvtColor(draw_plate(spec.lines, glyph_height), cv2.COLOR_RGB2BGR)
    h, w = plate.shape[:2]
    margin = round(glyph_height * rng.uniform(0.5, 1.4))
    out_w, out_h = w + 2 * margin, h + 2 * margin

    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = np.float32([[rng.uniform(-warp, warp) * w, rng.uniform(-warp, warp) * h] for _ in range(4)])
    theta = np.deg2rad(rng.uniform(-angle, angle))
    rot = np.float32([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    centre = np.float32([w / 2, h / 2])
    dst = (src + jitter - centre) @ rot.T + np.float32([out_w / 2, out_h / 2])
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))

    background = _background(out_h, out_w, rng)
    mask = np.full((h, w), 255, np.uint8)
    warped = cv2.warpPerspective(plate, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    warped_mask = cv2.warpPerspective(mask, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    alpha = (warped_mask.astype(np.float32) / 255.0)[..., None]
    image = warped.astype(np.float32) * alpha + background.astype(np.float32) * (1 - alpha)

    shade = rng.uniform(0.75, 1.05)  # exposure
    image = image * shade
    if blur > 0:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    if noise > 0:
        image = image + np.random.default_rng(rng.getrandbits(32)).normal(0, noise, image.shape)
    result = np.clip(image, 0, 255).astype(np.uint8)
    if jpeg is not None:
        ok, data = cv2.imencode(".jpg", result, [cv2.IMWRITE_JPEG_QUALITY, jpeg])
        assert ok
        result = cv2.imdecode(data, cv2.IMREAD_COLOR)

    xs, ys = dst[:, 0], dst[:, 1]
    box = (int(max(0, xs.min())), int(max(0, ys.min())), int(min(out_w, xs.max())), int(min(out_h, ys.max())))
    return RenderedPlate(spec=spec, image=result, glyph_height=glyph_height, blur=blur, box=box)


def _background(h: int, w: int, rng: random.Random) -> np.ndarray:
    """A bumper or a road: a colour with a gradient and coarse texture."""
    colour = np.array([rng.randint(20, 200) for _ in range(3)], np.float32)
    gradient = np.linspace(rng.uniform(0.7, 1.0), rng.uniform(0.7, 1.2), w, dtype=np.float32)[None, :, None]
    texture = np.random.default_rng(rng.getrandbits(32)).normal(0, 12, (max(1, h // 8), max(1, w // 8), 3)).astype(np.float32)
    texture = cv2.resize(texture, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(colour[None, None, :] * gradient + texture, 0, 255).astype(np.uint8)


def random_plates(
    count: int,
    *,
    seed: int,
    glyph_heights: tuple[int, ...] = (28, 36, 44, 60),
    blurs: tuple[float, ...] = (0.0, 0.8, 1.5),
    warp: float = 0.06,
    angle: float = 3.0,
) -> list[RenderedPlate]:
    """``count`` plates cycling through the sizes and blurs, texts and distortions drawn from ``seed``."""
    rng = random.Random(seed)
    plates = []
    for i in range(count):
        spec = random_spec(rng)
        glyph = glyph_heights[i % len(glyph_heights)]
        blur = blurs[(i // len(glyph_heights)) % len(blurs)]
        plates.append(render(spec, glyph, rng=rng, blur=blur, warp=warp, angle=angle))
    return plates


def scene(plates: list[RenderedPlate], *, size: tuple[int, int] = (480, 640), seed: int = 0) -> np.ndarray:
    """Plates pasted side by side onto a larger background with some non-plate text (a vehicle crop or a frame)."""
    rng = random.Random(seed)
    h, w = size
    image = _background(h, w, rng)
    pil = Image.fromarray(image)
    ImageDraw.Draw(pil).text((20, h - 60), "HONDA", fill=(235, 235, 235), font=_font_for(30))
    image = np.asarray(pil).copy()
    x = 20
    for plate in plates:
        ph, pw = plate.image.shape[:2]
        if x + pw > w or ph + 20 > h - 70:
            raise ValueError("scene too small for these plates")
        image[20 : 20 + ph, x : x + pw] = plate.image
        x += pw + 20
    return image
