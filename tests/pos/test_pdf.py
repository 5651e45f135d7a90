"""The small PDF writer (pos/pdf.py), checked by parsing what it writes: a PDF 1.4 header,
every object where the cross-reference table says, ``startxref`` on the table, the
standard fonts in WinAnsi encoding, uncompressed content streams whose text (accents, €)
reads back, and the page sizes (80 mm wide, A4)."""

from __future__ import annotations

import re

import pytest

from pos.pdf import A4, Page, mm, pdf_bytes, winansi

LITERAL = re.compile(rb"\((?:\\.|[^\\)])*\)")


def parse(data: bytes) -> dict:
    """The objects of ``data`` by number, checked against its xref table and trailer."""
    assert data.startswith(b"%PDF-1.4\n")
    assert data.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\s*$", data).group(1))
    assert data[startxref:].startswith(b"xref\n")
    head = re.match(rb"xref\n0 (\d+)\n", data[startxref:])
    count = int(head.group(1))
    table = data[startxref + head.end() :].split(b"trailer")[0]
    rows = table.split(b"\n")[:count]
    assert rows[0] == b"0000000000 65535 f "
    objects = {}
    for number, row in enumerate(rows[1:], start=1):
        assert len(row) + 1 == 20, row  # each entry is exactly 20 bytes with its newline
        offset, generation, kind = row.split()
        assert (generation, kind) == (b"00000", b"n")
        at = int(offset)
        assert data[at:].startswith(b"%d 0 obj\n" % number), number
        end = data.index(b"\nendobj\n", at)
        objects[number] = data[at + len(b"%d 0 obj\n" % number) : end]
    trailer = data[data.index(b"trailer", startxref) :]
    assert b"/Size %d" % count in trailer
    root = int(re.search(rb"/Root (\d+) 0 R", trailer).group(1))
    assert b"/Type /Catalog" in objects[root]
    return objects


def texts(objects: dict) -> str:
    """Every string shown by the content streams, decoded from WinAnsi."""
    shown = []
    for body in objects.values():
        match = re.match(rb"<< /Length (\d+) >>\nstream\n", body)
        if not match:
            continue
        stream = body[match.end() : match.end() + int(match.group(1))]
        assert body[match.end() + int(match.group(1)) :] == b"\nendstream"
        for literal in LITERAL.findall(stream):
            raw = re.sub(rb"\\(.)", rb"\1", literal[1:-1])
            shown.append(raw.decode("cp1252"))
    return "\n".join(shown)


def media_boxes(objects: dict) -> list[tuple[float, float]]:
    boxes = []
    for body in objects.values():
        match = re.search(rb"/Type /Page /Parent \d+ 0 R /MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", body)
        if match:
            boxes.append((float(match.group(1)), float(match.group(2))))
    return boxes


def test_a_page_with_french_text_reads_back_from_a_valid_file():
    page = Page(mm(80), mm(50))
    page.text(10, 20, "Café crème (grand) : 3,50 €", font="Courier", size=8)
    page.text(200, 30, "n°12 — « reçu » \\ fin", font="Helvetica-Bold", size=9)
    page.rule(5, 40, 200, 40)
    objects = parse(pdf_bytes([page], title="Reçu"))

    shown = texts(objects)
    assert "Café crème (grand) : 3,50 €" in shown
    assert "n°12 — « reçu » \\ fin" in shown
    fonts = b"".join(body for body in objects.values() if b"/Type /Font" in body)
    for name in (b"Helvetica", b"Helvetica-Bold", b"Courier", b"Courier-Bold"):
        assert b"/BaseFont /" + name + b" /Encoding /WinAnsiEncoding" in fonts
    assert b"/Filter" not in b"".join(objects.values())  # nothing compressed
    assert media_boxes(objects) == [
        (pytest.approx(226.77, abs=0.01), pytest.approx(141.73, abs=0.01))
    ]


def test_several_pages_and_right_aligned_courier():
    first, second = Page(*A4), Page(*A4)
    first.text(300, 50, "12,50 €", font="Courier", size=10, align="right")
    second.text(50, 50, "page 2")
    objects = parse(pdf_bytes([first, second]))
    assert len(media_boxes(objects)) == 2
    # 7 characters of Courier 10 pt are 42 pt wide: the text starts at 258.
    assert any(b"258 " in body and b"Td (12,50 \x80)" in body for body in objects.values())
    assert b"/Count 2" in b"".join(objects.values())


def test_what_winansi_cannot_write_is_replaced_never_an_error():
    assert winansi("1\u202f234,50\u00a0€") == b"1\xa0234,50\xa0\x80"
    assert winansi("−5 ✓") == b"-5 ?"
    with pytest.raises(ValueError, match="standard font"):
        Page(100, 100).text(0, 0, "x", font="Times")
    with pytest.raises(ValueError, match="Courier"):
        Page(100, 100).text(0, 0, "x", align="right")
    with pytest.raises(ValueError, match="at least one page"):
        pdf_bytes([])
