"""Count red round seals (公章) on the rendered pages of a PDF.

A stamped PDF copy is the applicant's proof of a seal, and the seal is rarely in the text layer: it is a scanned
picture or a vector drawing. So the pages are rendered at a low resolution and searched for what a Chinese
official seal looks like: a strongly red region, about as wide as high, 1.5–8 cm across, whose red pixels lie on
a rim (the ring) with a mostly empty inside (star and text), unlike a red filled box or red underlined text.

numpy is not available, so the per-pixel work is done by Pillow's C operations (channel differences,
thresholds, box reductions, histograms); Python only labels the regions of a reduced mask, which is small.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image, ImageChops, ImageDraw

__all__ = ["count_red_seals", "count_red_seals_in_image"]

# Rendering at 72 dpi makes one pixel one PDF point, so sizes below are in points.
_SCALE = 1.0
_POINTS_PER_CM = 72 / 2.54
_MIN_DIAMETER = 1.5 * _POINTS_PER_CM
_MAX_DIAMETER = 8.0 * _POINTS_PER_CM
# Red as a seal's ink is red: a high red channel well above both green and blue.
_MIN_RED = 140
_MIN_RED_OVER_GREEN = 70
_MIN_RED_OVER_BLUE = 50
# Regions are labelled on the mask reduced by this factor, which also bridges the gaps between a seal's
# ring, star and characters so that one seal is one region.
_REDUCTION = 4
# The rim band is the outer part of the region's ellipse; a seal's ring (1–1.5 mm of a 4 cm seal) covers
# a good share of it in every quadrant.
_RIM_INNER = 0.88
_MIN_RIM_COVER = 0.3


@dataclass(frozen=True)
class _Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


def count_red_seals(data: bytes, max_pages: int = 20) -> int:
    """How many red round seals the first ``max_pages`` pages of the PDF ``data`` carry (0 if unreadable)."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return 0
    try:
        total = 0
        for index in range(min(len(document), max_pages)):
            page = document[index]
            try:
                image = page.render(scale=_SCALE).to_pil().convert("RGB")
            finally:
                page.close()
            total += count_red_seals_in_image(image)
        return total
    finally:
        document.close()


def count_red_seals_in_image(image: Image.Image, points_per_pixel: float = 1.0) -> int:
    """How many red round seals an RGB page image shows (``points_per_pixel`` converts sizes to points)."""
    mask = _red_mask(image)
    if mask.getbbox() is None:
        return 0
    return sum(1 for box in _regions(mask) if _is_seal(mask, box, points_per_pixel))


def _red_mask(image: Image.Image) -> Image.Image:
    """An L image, 255 where the pixel is strongly red and 0 elsewhere."""
    red, green, blue = image.convert("RGB").split()
    strong = red.point(lambda value: 255 if value >= _MIN_RED else 0)
    over_green = ImageChops.subtract(red, green).point(lambda value: 255 if value >= _MIN_RED_OVER_GREEN else 0)
    over_blue = ImageChops.subtract(red, blue).point(lambda value: 255 if value >= _MIN_RED_OVER_BLUE else 0)
    return ImageChops.darker(ImageChops.darker(strong, over_green), over_blue)


def _regions(mask: Image.Image) -> Iterator[_Box]:
    """Bounding boxes (in mask pixels) of the connected red regions, found on a reduced mask."""
    width, height = mask.size
    small_size = (max(1, width // _REDUCTION), max(1, height // _REDUCTION))
    # A box reduction keeps any red in a block; thresholding at 1 turns "some red" into "red".
    small = mask.resize(small_size, Image.Resampling.BOX).point(lambda value: 255 if value > 0 else 0)
    pixels = bytearray(small.tobytes())
    small_width, small_height = small_size
    position = pixels.find(255)
    while position != -1:
        yield _flood(pixels, position, small_width, small_height)
        position = pixels.find(255, position)


def _flood(pixels: bytearray, start: int, width: int, height: int) -> _Box:
    """Clear the 8-connected region at ``start`` and return its box scaled back to the full mask."""
    pixels[start] = 0
    stack = [start]
    left, top, right, bottom = width, height, -1, -1
    while stack:
        index = stack.pop()
        y, x = divmod(index, width)
        left, right, top, bottom = min(left, x), max(right, x), min(top, y), max(bottom, y)
        for dy in (-1, 0, 1):
            ny = y + dy
            if ny < 0 or ny >= height:
                continue
            for dx in (-1, 0, 1):
                nx = x + dx
                if 0 <= nx < width:
                    neighbour = ny * width + nx
                    if pixels[neighbour]:
                        pixels[neighbour] = 0
                        stack.append(neighbour)
    return _Box(left * _REDUCTION, top * _REDUCTION, (right + 1) * _REDUCTION, (bottom + 1) * _REDUCTION)


def _count_red(mask: Image.Image) -> int:
    return mask.histogram()[255]


def _is_seal(mask: Image.Image, box: _Box, points_per_pixel: float) -> bool:
    """Square, of a seal's size, red on the rim all round, empty in the corners and mostly empty inside."""
    if box.height == 0 or not 0.75 <= box.width / box.height <= 1.33:
        return False
    diameter = (box.width + box.height) / 2 * points_per_pixel
    if not _MIN_DIAMETER <= diameter <= _MAX_DIAMETER:
        return False
    region = mask.crop((box.left, box.top, box.right, box.bottom))
    # The reduced box is up to one block larger than the ink; tighten it to the red pixels themselves.
    tight = region.getbbox()
    if tight is None:
        return False
    region = region.crop(tight)
    width, height = region.size
    if height == 0 or not 0.75 <= width / height <= 1.33:
        return False
    area = width * height
    if _count_red(region) > 0.6 * area:  # a filled box or disc, not a ring
        return False
    rim = _annulus(width, height, inner=_RIM_INNER)
    on_rim = ImageChops.darker(region, rim)
    # The ring must be there all round: each quadrant of the rim band mostly red.
    for quadrant in _quadrants(width, height):
        band = _count_red(rim.crop(quadrant))
        if band == 0 or _count_red(on_rim.crop(quadrant)) < _MIN_RIM_COVER * band:
            return False
    outside = ImageChops.invert(_annulus(width, height, inner=0.0, outer=1.04))
    corners = _count_red(ImageChops.darker(region, outside))
    return corners <= 0.05 * max(1, _count_red(outside))


def _annulus(width: int, height: int, inner: float, outer: float = 1.0) -> Image.Image:
    """An L mask of the ellipse band between ``inner`` and ``outer`` of the box's half axes."""
    band = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(band)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    rx, ry = width / 2, height / 2
    draw.ellipse((cx - rx * outer, cy - ry * outer, cx + rx * outer, cy + ry * outer), fill=255)
    if inner > 0:
        draw.ellipse((cx - rx * inner, cy - ry * inner, cx + rx * inner, cy + ry * inner), fill=0)
    return band


def _quadrants(width: int, height: int) -> list[tuple[int, int, int, int]]:
    half_w, half_h = width // 2, height // 2
    return [
        (0, 0, half_w, half_h),
        (half_w, 0, width, half_h),
        (0, half_h, half_w, height),
        (half_w, half_h, width, height),
    ]
