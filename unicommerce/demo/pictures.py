"""Pictures for the demo products, drawn with Pillow at demo-load time (no image files in
the repository): the family's silhouette in the colour of the product's first variant,
stored through catalog.images like any upload, thumbnails made at once, so the till's
product grid shows pictures on the first `make run`."""

from __future__ import annotations

from io import BytesIO

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from catalog.images import product_image_add
from catalog.models import Product

SIZE = 480  # a 160 thumbnail is made; the original serves the larger sizes
COLOURS = {
    "Navy": (31, 45, 84),
    "Black": (33, 33, 36),
    "White": (238, 236, 230),
    "Sand": (214, 192, 150),
    "Forest": (40, 92, 62),
    "Burgundy": (122, 32, 52),
    "Sky": (120, 172, 222),
    "Charcoal": (70, 72, 78),
}
PLAIN = [(196, 120, 64), (64, 128, 160), (150, 70, 110), (90, 140, 80), (180, 150, 60)]


def _scaled(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(x * SIZE / 100, y * SIZE / 100) for x, y in points]


def _tee(draw: ImageDraw.ImageDraw, colour, *, long_sleeves: bool = False) -> None:
    right_sleeve = [(94, 64), (84, 68)] if long_sleeves else [(88, 32), (80, 44)]
    left_sleeve = [(100 - x, y) for x, y in reversed(right_sleeve)]
    outline = [(36, 16), (44, 20), (56, 20), (64, 16), *right_sleeve, (76, 38), (76, 86)]
    outline += [(24, 86), (24, 38), *left_sleeve]
    draw.polygon(_scaled(outline), fill=colour)


def _jeans(draw, colour) -> None:
    draw.polygon(
        _scaled([(30, 12), (70, 12), (74, 88), (56, 88), (50, 36), (44, 88), (26, 88)]),
        fill=colour,
    )


def _trainer(draw, colour) -> None:
    draw.polygon(_scaled([(14, 62), (20, 40), (40, 44), (58, 56), (86, 62), (88, 72)]), fill=colour)
    draw.rectangle(_scaled([(14, 72), (88, 78)]), fill=(190, 190, 190))


def _scarf(draw, colour) -> None:
    for index in range(6):
        top = 18 + index * 11
        fill = colour if index % 2 == 0 else tuple(min(255, c + 70) for c in colour)
        draw.rectangle(_scaled([(30, top), (70, top + 11)]), fill=fill)


def _cap(draw, colour) -> None:
    draw.pieslice(_scaled([(24, 30), (76, 82)]), 180, 360, fill=colour)
    draw.rectangle(_scaled([(50, 55), (88, 60)]), fill=colour)


def _book(draw, colour) -> None:
    draw.rectangle(_scaled([(28, 16), (72, 84)]), fill=colour)
    draw.rectangle(_scaled([(34, 26), (66, 34)]), fill=(250, 248, 240))


def _tea(draw, colour) -> None:
    draw.rectangle(_scaled([(30, 36), (62, 80)]), fill=colour)
    draw.ellipse(_scaled([(56, 44), (76, 66)]), outline=colour, width=SIZE // 40)


def _chocolate(draw, colour) -> None:
    for row in range(3):
        for column in range(4):
            left, top = 22 + column * 14.5, 28 + row * 15
            draw.rectangle(_scaled([(left, top), (left + 13, top + 13)]), fill=colour)


SHAPES = {
    "T-shirt": _tee,
    "Sweater": lambda draw, colour: _tee(draw, colour, long_sleeves=True),
    "Jeans": _jeans,
    "Trainers": _trainer,
    "Scarf": _scarf,
    "Cap": _cap,
    "Style guide": _book,
    "Herbal tea": _tea,
    "Chocolate": _chocolate,
}


def picture_of(product: Product, colour_name: str | None) -> bytes:
    colour = COLOURS.get(colour_name or "") or PLAIN[product.pk % len(PLAIN)]
    if product.name.startswith("Chocolate"):
        colour = (92, 56, 38)
    background = (247, 245, 240) if sum(colour) < 600 else (205, 210, 218)
    image = Image.new("RGB", (SIZE, SIZE), background)
    draw = ImageDraw.Draw(image)
    shape = next((s for prefix, s in SHAPES.items() if product.name.startswith(prefix)), _book)
    shape(draw, colour)
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def demo_pictures() -> int:
    """One picture for each demo product that has none. Idempotent."""
    made = 0
    products = Product.objects.filter(images__isnull=True).prefetch_related("variants")
    for product in products:
        variants = sorted(product.variants.all(), key=lambda v: v.pk)
        colour = variants[0].attributes.get("colour") if variants else None
        product_image_add(
            product=product,
            file=ContentFile(picture_of(product, colour), name="demo.jpg"),
            alt=f"{product.name}" + (f", {colour.lower()}" if colour else ""),
            thumbnails_now=True,
        )
        made += 1
    return made
