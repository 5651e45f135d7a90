"""CSV import and export of products and of stock levels: every row checked first, then
all of it written in one transaction, or nothing."""

import csv
import io
from decimal import Decimal

import pytest
from django.db.models import Sum

from catalog.barcodes import ean13_from
from catalog.models import Barcode, CatalogChange, Category, Product, Variant
from inventory.exceptions import ImportEmpty, ImportFileInvalid, ImportFinished
from inventory.models import ImportJob, StockLevel, StockMovement
from inventory.services.imports import progress, stock_levels
from inventory.services.imports.exports import (
    products_csv,
    products_csv_rows,
    stock_csv,
    stock_csv_rows,
)
from inventory.services.imports.jobs import import_job_create, import_job_enqueue, import_job_run
from inventory.services.imports.progress import PROGRESS_EVERY, import_progress, progress_key
from inventory.services.imports.sheets import ImportColumnsMissing, ImportColumnsUnknown
from inventory.services.reservations import stock_reserve
from inventory.services.stock import stock_receive, stock_safety_set
from inventory.tasks import import_run_task
from tests.factories import ProductFactory, VariantFactory
from unicommerce.events.models import OutboxEvent

PRODUCT_HEADER = [
    "sku",
    "product",
    "brand",
    "category",
    "vat_rate",
    "price",
    "currency",
    "barcodes",
    "active",
    "size",
    "colour",
]
EAN_1 = ean13_from("400000000001")
EAN_2 = ean13_from("400000000002")
EAN_3 = ean13_from("400000000003")
EAN_4 = ean13_from("400000000004")


def csv_text(rows, delimiter=",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def run_import(kind, rows, *, user=None, filename="file.csv", delimiter=",") -> ImportJob:
    job = import_job_create(
        kind=kind, filename=filename, content=csv_text(rows, delimiter), user=user
    )
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def snapshot() -> dict:
    """What an import may write: compared before and after a refused one."""
    return {
        "products": list(Product.objects.order_by("pk").values()),
        "variants": list(Variant.objects.order_by("pk").values()),
        "barcodes": list(Barcode.objects.order_by("pk").values_list("variant_id", "code")),
        "history": CatalogChange.objects.count(),
        "levels": list(StockLevel.objects.order_by("pk").values()),
        "ledger": StockMovement.objects.count(),
        "events": OutboxEvent.objects.count(),
    }


def assert_ledger_matches_levels() -> None:
    for level in StockLevel.objects.all():
        total = StockMovement.objects.filter(
            variant_id=level.variant_id, location_id=level.location_id
        ).aggregate(total=Sum("quantity"))["total"]
        assert level.on_hand == (total or 0), level


@pytest.fixture
def clerk(django_user_model):
    return django_user_model.objects.create(username="clerk")


@pytest.fixture
def tees(db):
    return Category.objects.create(name="T-shirts", slug="t-shirts")


@pytest.fixture
def mugs(db):
    return Category.objects.create(name="Mugs", slug="mugs")


def products_file(*rows):
    return [PRODUCT_HEADER, *rows]


VALID_PRODUCTS = products_file(
    ["TEE-M", "Tee Basic", "Acme", "t-shirts", "20", "19.90", "EUR", EAN_1, "yes", "M", "Navy"],
    [
        "TEE-L",
        "Tee Basic",
        "Acme",
        "t-shirts",
        "20",
        "19.90",
        "EUR",
        f"{EAN_2}|{EAN_3}",
        "no",
        "L",
        "Navy",
    ],
    ["MUG-1", "Mug", "Home", "mugs", "5.5", "7.50", "EUR", "", "yes", "", ""],
)


# --------------------------------------------------------------------------- products


def test_a_valid_products_file_creates_products_variants_and_barcodes_with_history(
    tees, mugs, clerk
):
    job = run_import("products", VALID_PRODUCTS, user=clerk)

    assert job.status == "done"
    assert job.errors == []
    assert (job.total_rows, job.processed_rows) == (3, 3)
    assert job.summary == {
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "products_created": 2,
        "products_updated": 0,
    }
    tee = Product.objects.get(name="Tee Basic")
    assert (tee.brand, tee.category, tee.vat_rate) == ("Acme", tees, Decimal("20.0"))
    mug = Product.objects.get(name="Mug")
    assert (mug.brand, mug.category, mug.vat_rate) == ("Home", mugs, Decimal("5.5"))
    medium, large = Variant.objects.filter(product=tee).order_by("-sku")
    assert (medium.sku, medium.price_amount, medium.currency) == ("TEE-M", Decimal("19.90"), "EUR")
    assert medium.attributes == {"size": "M", "colour": "Navy"}
    assert (medium.is_active, large.is_active) == (True, False)
    assert [b.code for b in medium.barcodes.all()] == [EAN_1]
    assert sorted(b.code for b in large.barcodes.all()) == [EAN_2, EAN_3]
    assert Variant.objects.get(sku="MUG-1").attributes == {}
    history = CatalogChange.objects.filter(created_by=clerk)
    assert sorted(history.values_list("kind", flat=True)) == [
        "created",  # product Tee Basic
        "created",  # product Mug
        "created",  # TEE-M
        "created",  # TEE-L
        "created",  # MUG-1
        "updated",  # TEE-L made inactive
    ]
    assert not CatalogChange.objects.filter(created_by__isnull=True).exists()


def test_importing_the_same_products_file_again_changes_nothing(tees, mugs, clerk):
    run_import("products", VALID_PRODUCTS, user=clerk)
    before = snapshot()

    job = run_import("products", VALID_PRODUCTS, user=clerk)

    assert job.status == "done"
    assert job.summary == {
        "rows": 3,
        "created": 0,
        "updated": 0,
        "unchanged": 3,
        "products_created": 0,
        "products_updated": 0,
    }
    assert snapshot() == before


def test_a_new_price_in_the_file_updates_the_variant_and_records_a_price_change(tees, mugs, clerk):
    run_import("products", VALID_PRODUCTS, user=clerk)
    changed = [list(row) for row in VALID_PRODUCTS]
    changed[1][5] = "17,50"  # TEE-M, with a decimal comma

    job = run_import("products", changed, user=clerk)

    assert job.summary == {
        "rows": 3,
        "created": 0,
        "updated": 1,
        "unchanged": 2,
        "products_created": 0,
        "products_updated": 0,
    }
    assert Variant.objects.get(sku="TEE-M").price_amount == Decimal("17.50")
    change = CatalogChange.objects.get(kind="price")
    assert change.variant.sku == "TEE-M"
    assert change.changes == {"price_amount": ["19.90", "17.50"]}
    assert change.created_by == clerk


def test_an_update_changes_product_fields_attributes_and_barcodes_of_known_skus(tees, mugs, clerk):
    run_import("products", VALID_PRODUCTS, user=clerk)
    changed = [list(row) for row in VALID_PRODUCTS]
    changed[1][1] = changed[2][1] = "Tee Classic"  # rename the product of TEE-M and TEE-L
    changed[1][4] = changed[2][4] = "10"
    changed[1][7] = EAN_4  # EAN_1 removed, EAN_4 added
    changed[1][10] = ""  # colour removed

    job = run_import("products", changed, user=clerk)

    assert job.status == "done", job.errors
    assert job.summary == {
        "rows": 3,
        "created": 0,
        "updated": 2,
        "unchanged": 1,
        "products_created": 0,
        "products_updated": 1,
    }
    medium = Variant.objects.get(sku="TEE-M")
    assert (medium.product.name, medium.product.vat_rate) == ("Tee Classic", Decimal("10.0"))
    assert medium.attributes == {"size": "M"}
    assert [b.code for b in medium.barcodes.all()] == [EAN_4]
    assert Product.objects.filter(name__startswith="Tee").count() == 1
    update = CatalogChange.objects.filter(kind="updated", variant__isnull=True).get()
    assert update.changes == {
        "name": ["Tee Basic", "Tee Classic"],
        "vat_rate": ["20.0", "10.0"],
    }
    assert update.created_by == clerk


def test_new_skus_join_the_product_that_already_has_that_name_and_brand(tees, clerk):
    tee = ProductFactory(name="Tee Basic", brand="Acme", category=tees)

    job = run_import(
        "products",
        [
            ["sku", "product", "brand", "vat_rate", "price"],
            ["TEE-XL", "Tee Basic", "Acme", "20", "21.00"],
            ["TEE-XS", "Tee Basic", "Other brand", "20", "21.00"],
        ],
        user=clerk,
    )

    assert job.summary["products_created"] == 1
    assert Variant.objects.get(sku="TEE-XL").product == tee
    assert Variant.objects.get(sku="TEE-XS").product.brand == "Other brand"
    tee.refresh_from_db()
    assert tee.category == tees  # no category column: the category is left as it is


def test_a_products_file_with_bad_rows_is_refused_with_every_error_and_nothing_written(tees, clerk):
    owned = VariantFactory(sku="OWN-1")
    owned_code = owned.barcodes.get().code
    wrong_check_digit = EAN_1[:-1] + str((int(EAN_1[-1]) + 1) % 10)
    rows = products_file(
        ["NEW-1", "Tee", "Acme", "t-shirts", "20", "19.90", "EUR", EAN_1, "yes", "M", ""],
        ["NEW-2", "Tee", "Acme", "t-shirts", "7", "19.90", "EUR", "", "yes", "L", ""],
        ["NEW-3", "Tee", "Acme", "t-shirts", "20", "12,3x", "EUR", "", "yes", "XL", ""],
        [
            "NEW-4",
            "Tee",
            "Acme",
            "t-shirts",
            "20",
            "19.90",
            "EUR",
            wrong_check_digit,
            "yes",
            "",
            "",
        ],
        ["NEW-5", "Tee", "Acme", "t-shirts", "20", "19.90", "EUR", EAN_1, "yes", "", ""],
        ["NEW-6", "Tee", "Acme", "t-shirts", "20", "19.90", "EUR", owned_code, "yes", "", ""],
        ["NEW-7", "Tee", "Acme", "hats", "20", "19.90", "EUR", "", "yes", "", ""],
        ["", "Tee", "Acme", "t-shirts", "20", "19.90", "EUR", "", "yes", "", ""],
    )
    before = snapshot()

    job = run_import("products", rows, user=clerk)

    assert job.status == "failed"
    assert job.errors == [
        {
            "row": 2,
            "column": "vat_rate",
            "value": "7",
            "message": "A VAT rate is 20, 10, 5.5 or 2.1.",
        },
        {
            "row": 3,
            "column": "price",
            "value": "12,3x",
            "message": "A price is an amount of zero or more, such as 19.90 or 19,90.",
        },
        {
            "row": 4,
            "column": "barcodes",
            "value": wrong_check_digit,
            "message": (
                f"Invalid barcode {wrong_check_digit}: wrong check digit for an EAN-13 barcode."
            ),
        },
        {
            "row": 5,
            "column": "barcodes",
            "value": EAN_1,
            "message": f"The barcode {EAN_1} is also on row 1.",
        },
        {
            "row": 6,
            "column": "barcodes",
            "value": owned_code,
            "message": f"The barcode {owned_code} already belongs to OWN-1.",
        },
        {
            "row": 7,
            "column": "category",
            "value": "hats",
            "message": "No category has the slug “hats”.",
        },
        {"row": 8, "column": "sku", "value": "", "message": "A SKU is required."},
    ]
    assert job.summary == {"rows": 8, "errors": 7}
    assert (job.processed_rows, job.finished_at is not None) == (8, True)
    assert snapshot() == before


def test_rows_of_one_product_must_agree_and_a_variant_cannot_change_product(tees, mugs, clerk):
    VariantFactory(sku="A-1", product__name="Alpha")
    VariantFactory(sku="B-1", product__name="Beta")
    VariantFactory(sku="C-1", product__name="Charlie")
    rows = [
        ["sku", "product", "category", "vat_rate", "price", "currency"],
        ["N-1", "Gamma", "t-shirts", "20", "1.00", ""],
        ["N-2", "Gamma", "mugs", "5.5", "1.00", ""],
        ["A-1", "Alpha", "", "20", "1.00", ""],
        ["B-1", "Alpha", "", "20", "1.00", ""],
        ["A-1", "Alpha", "", "20", "1.00", ""],
        ["C-1", "Charlie", "", "20", "1.00", "USD"],
    ]
    before = snapshot()

    job = run_import("products", rows, user=clerk)

    assert [(e["row"], e["column"], e["message"]) for e in job.errors] == [
        (2, "category", "Row 1 gives the same product another category."),
        (2, "vat_rate", "Row 1 gives the same product another vat_rate."),
        (
            4,
            "product",
            "The SKU B-1 belongs to the product “Beta” and the SKU of row 3 to another one: "
            "a variant cannot change product.",
        ),
        (5, "sku", "The SKU A-1 is also on row 3."),
        (6, "currency", "This variant is priced in EUR; an import cannot change that."),
    ]
    assert snapshot() == before


def test_the_variants_of_one_product_cannot_appear_under_two_names(clerk):
    product = ProductFactory(name="Alpha")
    VariantFactory(sku="A-1", product=product)
    VariantFactory(sku="A-2", product=product)

    job = run_import(
        "products",
        [
            ["sku", "product", "vat_rate", "price"],
            ["A-1", "Alpha", "20", "1.00"],
            ["A-2", "Alpha typo", "20", "1.00"],
        ],
        user=clerk,
    )

    assert job.status == "failed"
    assert job.errors == [
        {
            "row": 2,
            "column": "product",
            "value": "Alpha typo",
            "message": "The variants of the product “Alpha” are also on row 1 under another name.",
        }
    ]


# --------------------------------------------------------------------------- stock levels


def test_a_stock_file_sets_on_hand_through_count_ledger_rows_and_the_safety_stock(
    shop, stocked_variant, clerk
):
    more = stocked_variant(store=3, sku="MORE")
    fewer = stocked_variant(store=10, warehouse=4, sku="FEWER")
    same = stocked_variant(warehouse=6, sku="SAME")
    new = stocked_variant(sku="NEW")

    job = run_import(
        "stock",
        [
            ["sku", "location", "on_hand", "safety"],
            ["MORE", "paris", "5", ""],
            ["fewer", "paris", "7", "2"],  # SKUs and codes in any case
            ["FEWER", "WAREHOUSE", "4", ""],
            ["SAME", "warehouse", "6", "1"],
            ["NEW", "warehouse", "12", ""],
        ],
        user=clerk,
        filename="count-may.csv",
    )

    assert job.status == "done", job.errors
    assert job.summary == {
        "rows": 5,
        "created": 1,
        "updated": 3,
        "unchanged": 1,
        "ledger_rows": 3,
    }
    levels = {
        (level.variant.sku, level.location.code): (level.on_hand, level.safety)
        for level in StockLevel.objects.select_related("variant", "location")
    }
    assert levels == {
        ("MORE", "paris"): (5, 0),
        ("FEWER", "paris"): (7, 2),
        ("FEWER", "warehouse"): (4, 0),
        ("SAME", "warehouse"): (6, 1),
        ("NEW", "warehouse"): (12, 0),
    }
    movements = StockMovement.objects.filter(reason="count").order_by("variant_id")
    assert [(m.variant_id, m.location_id, m.quantity, m.on_hand_after) for m in movements] == [
        (more.pk, shop.store.pk, 2, 5),
        (fewer.pk, shop.store.pk, -3, 7),
        (new.pk, shop.warehouse.pk, 12, 12),
    ]
    for movement in movements:
        assert movement.source_type.model == "importjob"
        assert movement.source_id == str(job.pk)
        assert movement.note == "CSV import count-may.csv"
        assert movement.created_by == clerk
    assert not StockMovement.objects.filter(variant=same, reason="count").exists()
    assert_ledger_matches_levels()


def test_a_stock_row_that_would_take_reserved_units_is_an_error_and_nothing_changes(
    shop, stocked_variant, clerk
):
    variant = stocked_variant(store=5, sku="HELD")
    other = stocked_variant(store=5, sku="FREE")
    stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=3)
    before = snapshot()

    job = run_import(
        "stock",
        [
            ["sku", "location", "on_hand"],
            ["FREE", "paris", "9"],
            ["HELD", "paris", "2"],
        ],
        user=clerk,
    )

    assert job.status == "failed"
    assert job.errors == [
        {
            "row": 2,
            "column": "on_hand",
            "value": "2",
            "message": "3 units are reserved for customers at Paris: on hand cannot go below 3.",
        }
    ]
    assert snapshot() == before
    assert StockLevel.objects.get(variant=other, location=shop.store).on_hand == 5


def test_a_stock_file_with_unknown_codes_and_wrong_numbers_is_refused_row_by_row(
    shop, stocked_variant, clerk
):
    stocked_variant(store=2, sku="KNOWN")
    before = snapshot()

    job = run_import(
        "stock",
        [
            ["sku", "location", "on_hand", "safety"],
            ["NOPE", "paris", "1", ""],
            ["KNOWN", "moon", "1", ""],
            ["KNOWN", "paris", "-1", "1.5"],
            ["KNOWN", "paris", "2.0", ""],
            ["KNOWN", "warehouse", "", ""],
            ["KNOWN", "warehouse", "3", ""],
        ],
        user=clerk,
    )

    quantity = "A quantity is a whole number of zero or more."
    assert [(e["row"], e["column"], e["value"], e["message"]) for e in job.errors] == [
        (1, "sku", "NOPE", "No variant has the SKU “NOPE”."),
        (2, "location", "moon", "No location has the code “moon”."),
        (3, "on_hand", "-1", quantity),
        (3, "safety", "1.5", quantity),
        (4, "sku", "KNOWN", "The SKU KNOWN at paris is also on row 3."),
        (4, "on_hand", "2.0", quantity),
        (5, "on_hand", "", quantity),
        (6, "sku", "KNOWN", "The SKU KNOWN at warehouse is also on row 5."),
    ]
    assert snapshot() == before


def test_a_reservation_made_between_checking_and_writing_fails_the_job_with_nothing_written(
    shop, stocked_variant, clerk, monkeypatch
):
    variant = stocked_variant(store=5, sku="HOT")
    stocked_variant(store=1, sku="COLD")
    check = stock_levels.StockLevelImport.check

    def check_then_a_customer_reserves(importer):
        errors = check(importer)
        stock_reserve(variant_id=variant.pk, location_id=shop.store.pk, quantity=4)
        return errors

    # The reservation runs inside the import's transaction, so the rollback of the import
    # also undoes it: afterwards everything is exactly as before.
    monkeypatch.setattr(stock_levels.StockLevelImport, "check", check_then_a_customer_reserves)
    job = import_job_create(
        kind="stock",
        filename="count.csv",
        content=csv_text(
            [["sku", "location", "on_hand"], ["COLD", "paris", "8"], ["HOT", "paris", "2"]]
        ),
        user=clerk,
    )
    before = snapshot()

    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == "failed"
    assert job.errors == [
        {
            "row": None,
            "column": "",
            "value": "",
            "message": "Only 1 of HOT available at Paris; 3 requested.",
        }
    ]
    assert snapshot() == before


# --------------------------------------------------------------------------- reading files


def test_semicolon_separated_files_with_a_byte_order_mark_are_read(tees, shop, clerk):
    text = csv_text(
        [
            ["SKU", "Product", "VAT_rate", "Price", "Category", "attr:Material"],
            ["TEE-1", "Tee; the basic", "5,5", "19,90", "t-shirts", "cotton"],
        ],
        delimiter=";",
    )

    job = import_job_create(
        kind="products", filename="c:\\exports\\tees.csv", content=b"\xef\xbb\xbf" + text.encode()
    )
    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.filename, job.total_rows) == ("done", "tees.csv", 1)
    variant = Variant.objects.get(sku="TEE-1")
    assert (variant.product.name, variant.product.vat_rate) == ("Tee; the basic", Decimal("5.5"))
    assert (variant.price_amount, variant.attributes) == (Decimal("19.90"), {"Material": "cotton"})
    assert not job.content.startswith("\ufeff")


def test_blank_lines_are_skipped_but_keep_their_row_number(shop, stocked_variant):
    stocked_variant(sku="KNOWN")

    job = run_import(
        "stock",
        [
            ["sku", "location", "on_hand"],
            ["KNOWN", "paris", "1"],
            ["", "", ""],
            ["KNOWN", "moon", "1"],
        ],
    )

    assert job.total_rows == 2
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "location")]


def test_a_file_missing_required_columns_is_refused_at_creation_and_makes_no_job(
    db,
    django_capture_on_commit_callbacks,
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(ImportColumnsMissing) as raised,
    ):
        import_job_create(kind="products", filename="f.csv", content="sku;product;brand\nA;B;C\n")

    assert raised.value.details == {"kind": "products", "missing": ["vat_rate", "price"]}
    assert raised.value.message == (
        "The file lacks the required columns vat_rate, price "
        "(a products file needs sku, product, vat_rate, price)."
    )
    assert callbacks == []
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        ("", ImportEmpty, "The file is empty: it needs a header line and at least one row."),
        (
            "sku,location,on_hand\n\n",
            ImportEmpty,
            "The file is empty: it needs a header line and at least one row.",
        ),
        (
            "sku,location,on_hand,color\nA,b,1,red\n",
            ImportColumnsUnknown,
            "The file has columns this import does not know: color "
            "(known: sku, location, on_hand, safety).",
        ),
        (
            "sku,location,on_hand,on_hand\nA,b,1,1\n",
            ImportFileInvalid,
            "The column on_hand appears twice in the header.",
        ),
        (
            "sku,location,on_hand\nA,b,1\n".encode("utf-16"),
            ImportFileInvalid,
            "The file is not UTF-8 text. Save it as “CSV UTF-8” (comma- or semicolon-separated).",
        ),
        (
            "sku,location,on_hand\nA,b,\x00\n",
            ImportFileInvalid,
            "The file contains NUL characters: it is not a CSV text file.",
        ),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_at_creation(db, content, error, message):
    with pytest.raises(error) as raised:
        import_job_create(kind="stock", filename="f.csv", content=content)

    assert raised.value.message == message
    assert not ImportJob.objects.exists()


def test_an_attribute_given_twice_is_refused(db):
    with pytest.raises(ImportFileInvalid) as raised:
        import_job_create(
            kind="products",
            filename="f.csv",
            content="sku,product,vat_rate,price,size,attr:size\nA,B,20,1,M,M\n",
        )

    assert raised.value.message == "The column attr:size appears twice in the header."


# --------------------------------------------------------------------------- jobs


def test_the_import_task_is_queued_only_after_the_commit(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(import_run_task, "delay", sent.append)

    with django_capture_on_commit_callbacks() as callbacks:
        job = import_job_create(
            kind="stock", filename="f.csv", content="sku,location,on_hand\nA,b,1\n"
        )
        assert sent == []

    assert job.status == "pending"
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [job.pk]


def test_a_finished_job_is_left_alone_and_cannot_be_queued_again(
    shop, stocked_variant, django_capture_on_commit_callbacks
):
    stocked_variant(sku="KNOWN")
    job = run_import("stock", [["sku", "location", "on_hand"], ["KNOWN", "paris", "4"]])
    before = snapshot()

    assert import_job_run(job_id=job.pk) is None
    with pytest.raises(ImportFinished), django_capture_on_commit_callbacks() as callbacks:
        import_job_enqueue(job=job)

    assert callbacks == []
    assert snapshot() == before
    assert StockLevel.objects.get().on_hand == 4


def test_a_waiting_job_can_be_queued_again(db, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(import_run_task, "delay", sent.append)
    job = import_job_create(kind="stock", filename="f.csv", content="sku,location,on_hand\nA,b,1\n")

    with django_capture_on_commit_callbacks(execute=True):
        import_job_enqueue(job=job)

    assert sent == [job.pk]


def test_a_long_import_publishes_its_progress_in_the_cache_and_ends_done(shop, clerk, monkeypatch):
    count = 3000
    product = ProductFactory()
    Variant.objects.bulk_create(
        Variant(product=product, sku=f"BULK{i:05d}", price_amount=Decimal("1.00"))
        for i in range(count)
    )
    rows = [["sku", "location", "on_hand"]] + [
        [f"BULK{i:05d}", "paris", str(i % 5 + 1)] for i in range(count)
    ]
    job = import_job_create(kind="stock", filename="big.csv", content=csv_text(rows), user=clerk)
    assert import_progress(job=job) == {
        "status": "pending",
        "status_label": "waiting",
        "phase": None,
        "phase_label": "",
        "processed": 0,
        "total": count,
        "percent": 0,
        "finished": False,
    }
    seen = []
    real_cache = progress.cache

    class WatchedCache:
        """The real cache; each time the runner publishes, read what the admin would."""

        def set(self, key, value, timeout=None):
            real_cache.set(key, value, timeout)
            if key == progress_key(job.pk):
                seen.append(import_progress(job=ImportJob.objects.get(pk=job.pk)))

        def __getattr__(self, name):
            return getattr(real_cache, name)

    monkeypatch.setattr(progress, "cache", WatchedCache())

    import_job_run(job_id=job.pk)

    steps = list(range(0, count + 1, PROGRESS_EVERY))
    running = [(p["status"], p["phase"], p["processed"], p["total"]) for p in seen[:-1]]
    assert running == [("running", "checking", n, count) for n in steps] + [
        ("running", "writing", n, count) for n in steps
    ]
    halfway = seen[len(steps) // 2]
    assert (halfway["processed"], halfway["percent"], halfway["phase_label"]) == (
        1500,
        50,
        "checking every row",
    )
    assert seen[-1]["status"] == "done"
    assert seen[-1]["finished"] is True
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.total_rows) == ("done", count, count)
    assert import_progress(job=job)["percent"] == 100
    assert real_cache.get(progress_key(job.pk)) == {
        "phase": "writing",
        "processed": count,
        "total": count,
    }
    assert StockMovement.objects.filter(reason="count", source_id=str(job.pk)).count() == count
    assert StockLevel.objects.aggregate(total=Sum("on_hand"))["total"] == 3 * count
    assert_ledger_matches_levels()


# --------------------------------------------------------------------------- exports


def test_export_then_import_of_an_unchanged_database_changes_nothing(
    shop, stocked_variant, tees, clerk
):
    tee = ProductFactory(
        name='Tee, "classic"', brand="Acme", category=tees, vat_rate=Decimal("5.5")
    )
    stocked_variant(
        store=4, warehouse=2, product=tee, sku="TEE-M", attributes={"size": "M", "colour": "Écru"}
    )
    large = stocked_variant(store=1, product=tee, sku="TEE-L", attributes={"size": "L", "fit": 2})
    Barcode.objects.create(variant=large, code=EAN_4)
    stocked_variant(sku="MUG", attributes={}, is_active=False, price_amount=Decimal("0.00"))
    stock_safety_set(variant_id=large.pk, location_id=shop.store.pk, safety=1)
    products, stock = [], []
    products_count = products_csv(write=products.append)
    stock_count = stock_csv(write=stock.append)
    before = snapshot()

    products_job = run_import("products", products, user=clerk)
    stock_job = run_import("stock", stock, user=clerk)

    assert (products_count, stock_count) == (3, 3)
    assert products_job.summary == {
        "rows": 3,
        "created": 0,
        "updated": 0,
        "unchanged": 3,
        "products_created": 0,
        "products_updated": 0,
    }
    assert stock_job.summary == {
        "rows": 3,
        "created": 0,
        "updated": 0,
        "unchanged": 3,
        "ledger_rows": 0,
    }
    assert snapshot() == before


def test_the_exports_write_the_import_format(shop, stocked_variant, tees):
    tee = ProductFactory(name="Tee", brand="Acme", category=tees, vat_rate=Decimal("20.0"))
    medium = stocked_variant(
        store=4, product=tee, sku="TEE-M", attributes={"size": "M", "fit": "slim"}
    )
    Barcode.objects.create(variant=medium, code=EAN_4)
    codes = "|".join(b.code for b in medium.barcodes.order_by("id"))
    stock_receive(variant_id=medium.pk, location_id=shop.warehouse.pk, quantity=2)

    assert list(products_csv_rows()) == [
        [*PRODUCT_HEADER, "attr:fit"],
        ["TEE-M", "Tee", "Acme", "t-shirts", "20", "19.90", "EUR", codes, "yes", "M", "", "slim"],
    ]
    assert list(stock_csv_rows()) == [
        ["sku", "location", "on_hand", "safety"],
        ["TEE-M", "paris", "4", "0"],
        ["TEE-M", "warehouse", "2", "0"],
    ]
    assert list(stock_csv_rows(location=shop.warehouse)) == [
        ["sku", "location", "on_hand", "safety"],
        ["TEE-M", "warehouse", "2", "0"],
    ]
