"""docs/permissions.md is the permission table, written out: it must not drift."""

from pathlib import Path

from unicommerce.access.document import permissions_document

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def test_the_committed_document_is_what_the_table_says():
    assert DOCUMENT.read_text() == permissions_document(), (
        "docs/permissions.md is out of date: run `python manage.py permissions_doc`"
    )


def test_the_document_names_every_operation_and_every_caller():
    from unicommerce.access.table import TABLE

    text = permissions_document()
    for operation in TABLE:
        assert f"`{operation.split(' ')[0]}`" in text
    for caller in ("publishable key", "secret key", "customer", "seller", "head office"):
        assert caller in text
