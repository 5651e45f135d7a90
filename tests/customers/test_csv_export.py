"""CSV files people open in a spreadsheet carry no live formula: the customers export,
the products and stock exports and an import's errors (unicommerce/spreadsheets.py)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from customers.models import Customer
from inventory.models import ImportJob
from tests.factories import ProductFactory
from unicommerce.spreadsheets import SpreadsheetWriter, spreadsheet_cell, spreadsheet_value

HYPERLINK = '=HYPERLINK("http://x","y")'


@pytest.fixture
def manager_client(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    )
    return client


def rows_of(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'=1", "''=1"),
        ("Camille", "Camille"),
        ("'quoted", "'quoted"),
        ("a=b", "a=b"),
        ("", ""),
        ("-5", "-5"),
        ("+33612345678", "+33612345678"),
        ("12.50", "12.50"),
        ("-0,5", "-0,5"),
        (7, 7),
        (None, None),
    ],
)
def test_a_cell_a_spreadsheet_would_run_gets_a_quote_and_reads_back(value, written):
    assert spreadsheet_cell(value) == written
    if isinstance(value, str):
        assert spreadsheet_value(written) == value


def test_the_writer_quotes_every_cell_of_every_row():
    out = io.StringIO()
    writer = SpreadsheetWriter(out)
    writer.writerow(["name", "note"])
    writer.writerows([[HYPERLINK, "@me"], ["Ana", 3]])
    assert rows_of(out.getvalue()) == [
        ["name", "note"],
        ["'" + HYPERLINK, "'@me"],
        ["Ana", "3"],
    ]


@pytest.mark.django_db
def test_the_customers_export_neutralises_formulas(manager_client):
    evil = Customer.objects.create(
        first_name=HYPERLINK,
        last_name="+cmd|' /C calc'!A0",
        email="@evil@example.com",
        phone="+33612345678",
        tags=["-x"],
    )

    response = manager_client.post(
        "/admin/customers/customer/", {"action": "export_csv", "_selected_action": [evil.pk]}
    )

    row = next(csv.DictReader(io.StringIO(response.content.decode())))
    assert (row["first_name"], row["last_name"], row["email"], row["phone"], row["tags"]) == (
        "'" + HYPERLINK,
        "'+cmd|' /C calc'!A0",
        "'@evil@example.com",
        "+33612345678",
        "'-x",
    )
    assert Customer.objects.get(pk=evil.pk).first_name == HYPERLINK


@pytest.mark.django_db
def test_the_products_and_stock_exports_neutralise_formulas(manager_client, stocked_variant):
    stocked_variant(warehouse=3, sku="=1+1", product=ProductFactory(name=HYPERLINK, brand="@brand"))

    products = manager_client.get(reverse("admin:inventory_importjob_export_products"))
    stock = manager_client.get(reverse("admin:inventory_importjob_export_stock"))

    product_row = rows_of(b"".join(products.streaming_content).decode())[1]
    assert product_row[:3] == ["'=1+1", "'" + HYPERLINK, "'@brand"]
    assert rows_of(b"".join(stock.streaming_content).decode())[1:] == [
        ["'=1+1", "warehouse", "3", "0"]
    ]


@pytest.mark.django_db
def test_an_imports_errors_file_neutralises_the_values_it_quotes(manager_client):
    job = ImportJob.objects.create(
        kind=ImportJob.Kind.STOCK,
        filename="stock.csv",
        content="",
        errors=[{"row": 1, "column": "sku", "value": HYPERLINK, "message": "Unknown SKU."}],
    )

    response = manager_client.get(reverse("admin:inventory_importjob_errors", args=[job.pk]))

    assert rows_of(b"".join(response.streaming_content).decode()) == [
        ["row", "column", "value", "message"],
        ["1", "sku", "'" + HYPERLINK, "Unknown SKU."],
    ]
