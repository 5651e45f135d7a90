"""A small PDF writer for the till's papers (a receipt on an 80 mm roll, an A4 invoice):
PDF 1.4, the standard Type 1 fonts every reader has (Helvetica, Helvetica-Bold, Courier,
Courier-Bold: nothing embedded), text in WinAnsi encoding (French accents, « € »,
« n° »), content streams left uncompressed so that the text can be found in the file.

No dependency: a page is a list of drawing operations (text at a point, a rule); the
writer numbers the objects, writes them and a cross-reference table whose offsets are
exact, then the trailer.

Sizes are in points (1/72 inch); ``mm(x)`` converts. The origin is the page's bottom
left corner, as in PDF; ``Page.text`` takes a ``top`` measured from the top edge, which
is how the layouts think."""

from __future__ import annotations

from dataclasses import dataclass, field

POINTS_PER_MM = 72 / 25.4
A4 = (595.28, 841.89)
# Courier's glyphs are all 600/1000 em wide: columns line up, right-alignment is exact.
COURIER_ADVANCE = 0.6
FONTS = {
    "F1": "Helvetica",
    "F2": "Helvetica-Bold",
    "F3": "Courier",
    "F4": "Courier-Bold",
}
FONT_OF = {name: key for key, name in FONTS.items()}
# Characters WinAnsi lacks that French text uses (Babel's narrow no-break space between
# thousands, the minus sign): their nearest WinAnsi equivalent.
NEAREST = str.maketrans({"\u202f": "\u00a0", "\u2009": " ", "\u2212": "-", "\u2011": "-"})


def mm(value: float) -> float:
    return value * POINTS_PER_MM


def winansi(text: str) -> bytes:
    """``text`` in WinAnsi (Windows-1252, which PDF's WinAnsiEncoding follows for every
    printable character): accents, €, «», ° kept; anything else becomes "?". Control
    characters (a tab, a newline) become spaces; a narrow no-break space a no-break space,
    a minus sign a hyphen."""
    text = "".join(" " if ch < " " else ch for ch in text).translate(NEAREST)
    return text.encode("cp1252", errors="replace")


def _literal(text: str) -> bytes:
    """A PDF literal string: backslash, parentheses escaped; bytes above 127 as they are
    (a literal string is binary)."""
    raw = winansi(text)
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _number(value: float) -> bytes:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return (text if text not in ("", "-0") else "0").encode()


def text_width(text: str, *, font: str, size: float) -> float | None:
    """The width of ``text`` in a Courier font (monospaced); ``None`` for the others."""
    if not font.startswith("Courier"):
        return None
    return len(winansi(text)) * COURIER_ADVANCE * size


@dataclass
class Page:
    width: float
    height: float
    ops: list[bytes] = field(default_factory=list)

    def text(
        self,
        x: float,
        top: float,
        text: str,
        *,
        font: str = "Helvetica",
        size: float = 10,
        align: str = "left",
    ) -> None:
        """Write ``text`` with its baseline ``top`` points below the top edge. ``align``
        ``right`` (Courier fonts only): ``x`` is where the text ends."""
        if font not in FONT_OF:
            raise ValueError(f"not a standard font of this writer: {font}")
        if align == "right":
            width = text_width(text, font=font, size=size)
            if width is None:
                raise ValueError("right-aligned text needs a Courier font")
            x -= width
        y = self.height - top
        self.ops.append(
            b"BT /%s %s Tf %s %s Td %s Tj ET"
            % (FONT_OF[font].encode(), _number(size), _number(x), _number(y), _literal(text))
        )

    def rule(self, x1: float, top1: float, x2: float, top2: float, *, width: float = 0.5) -> None:
        """A straight line between two points (``top``: from the top edge)."""
        self.ops.append(
            b"%s w %s %s m %s %s l S"
            % (
                _number(width),
                _number(x1),
                _number(self.height - top1),
                _number(x2),
                _number(self.height - top2),
            )
        )

    def content(self) -> bytes:
        return b"\n".join(self.ops) + b"\n"


class _Objects:
    """The file's objects, numbered from 1 in the order they are added."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def add(self, body: bytes) -> int:
        self.bodies.append(body)
        return len(self.bodies)

    def reserve(self) -> int:
        return self.add(b"")

    def set(self, number: int, body: bytes) -> None:
        self.bodies[number - 1] = body


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(data), data)


def pdf_bytes(pages: list[Page], *, title: str = "", author: str = "") -> bytes:
    """The PDF file of ``pages`` (at least one)."""
    if not pages:
        raise ValueError("a PDF has at least one page")
    objects = _Objects()
    catalog, tree = objects.reserve(), objects.reserve()
    fonts = {
        key: objects.add(
            b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
            % name.encode()
        )
        for key, name in FONTS.items()
    }
    resources = b"<< /Font << %s >> >>" % b" ".join(
        b"/%s %d 0 R" % (key.encode(), number) for key, number in fonts.items()
    )
    kids = []
    for page in pages:
        content = objects.add(_stream(page.content()))
        kids.append(
            objects.add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources %s "
                b"/Contents %d 0 R >>"
                % (tree, _number(page.width), _number(page.height), resources, content)
            )
        )
    objects.set(catalog, b"<< /Type /Catalog /Pages %d 0 R >>" % tree)
    objects.set(
        tree,
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % kid for kid in kids), len(kids)),
    )
    info = objects.add(
        b"<< /Producer (Unicommerce) /Title %s /Author %s >>" % (_literal(title), _literal(author))
    )
    return _file(objects.bodies, root=catalog, info=info)


def _file(bodies: list[bytes], *, root: int, info: int) -> bytes:
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(bodies) + 1,
        root,
        info,
        xref,
    )
    return bytes(out)
