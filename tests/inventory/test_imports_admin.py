"""The back-office of CSV imports: upload, a job page whose progress bar updates itself,
the row-by-row error table, and the streamed exports."""

import csv
import io

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from django.urls import reverse

from inventory.models import ImportJob
from inventory.services.imports.exports import products_csv_rows, stock_csv_rows
from inventory.services.imports.jobs import import_job_create, import_job_run
from inventory.services.imports.progress import progress_key
from inventory.tasks import import_run_task
from tests.factories import UserFactory


@pytest.fixture
def manager(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def sent(monkeypatch):
    """The job ids handed to the Celery task (instead of the broker)."""
    ids = []
    monkeypatch.setattr(import_run_task, "delay", ids.append)
    return ids


def csv_lines(rows) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def job_url(job, name="change") -> str:
    return reverse(f"admin:inventory_importjob_{name}", args=[job.pk])


def finished_job(rows, *, user=None) -> ImportJob:
    job = import_job_create(kind="stock", filename="count.csv", content=csv_lines(rows), user=user)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_the_list_of_imports_offers_the_upload_and_both_exports(manager_client):
    page = manager_client.get(reverse("admin:inventory_importjob_changelist")).content.decode()

    assert f'href="{reverse("admin:inventory_importjob_upload")}"' in page
    assert "Import a CSV file" in page
    assert f'href="{reverse("admin:inventory_importjob_export_products")}"' in page
    assert "Export products (CSV)" in page
    assert f'href="{reverse("admin:inventory_importjob_export_stock")}"' in page
    assert "Export stock levels (CSV)" in page


def test_the_upload_page_creates_a_waiting_job_and_opens_its_page(
    manager_client, manager, shop, sent, django_capture_on_commit_callbacks
):
    url = reverse("admin:inventory_importjob_upload")
    form = manager_client.get(url)
    upload = SimpleUploadedFile(
        "count.csv", b"sku;location;on_hand\nA-1;paris;3\n", content_type="text/csv"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(url, {"kind": "stock", "file": upload})

    assert form.status_code == 200
    assert 'name="kind"' in form.content.decode()
    assert 'type="file"' in form.content.decode()
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job_url(job)
    assert (job.kind, job.status, job.filename, job.total_rows) == (
        "stock",
        "pending",
        "count.csv",
        1,
    )
    assert job.created_by == manager
    assert job.content == "sku;location;on_hand\nA-1;paris;3\n"
    assert sent == [job.pk]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"sku,location\nA-1,paris\n",
            "The file lacks the required columns on_hand "
            "(a stock levels file needs sku, location, on_hand).",
        ),
        (b"", "The submitted file is empty."),
        (b"\xff\xfe\x00s", "The file is not UTF-8 text."),
    ],
)
def test_a_wrong_file_is_refused_on_the_upload_page_with_the_reason(
    manager_client, sent, content, message
):
    upload = SimpleUploadedFile("count.csv", content, content_type="text/csv")

    response = manager_client.post(
        reverse("admin:inventory_importjob_upload"), {"kind": "stock", "file": upload}
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()
    assert sent == []


def test_a_running_import_page_shows_a_progress_bar_that_polls_itself(manager_client):
    job = ImportJob.objects.create(
        kind="stock", filename="big.csv", content="…", status="running", total_rows=1000
    )
    cache.set(progress_key(job.pk), {"phase": "writing", "processed": 400, "total": 1000})

    page = manager_client.get(job_url(job)).content.decode()

    assert f'hx-get="{job_url(job, "progress")}"' in page
    assert 'hx-trigger="every 1s"' in page
    assert '<progress max="100" value="40"' in page
    assert "400 of 1000 rows (40 %)" in page
    assert "Running: writing" in page
    assert '<script src="/static/django_htmx/htmx' in page
    assert 'name="filename"' not in page  # read-only


def test_the_progress_partial_is_a_fragment_for_htmx_and_a_whole_page_otherwise(manager_client):
    job = ImportJob.objects.create(
        kind="products", filename="big.csv", content="…", status="running", total_rows=200
    )
    cache.set(progress_key(job.pk), {"phase": "checking", "processed": 50, "total": 200})
    url = job_url(job, "progress")

    fragment = manager_client.get(url, headers={"HX-Request": "true"})
    page = manager_client.get(url)

    assert fragment.status_code == 200
    html = fragment.content.decode().strip()
    assert html.startswith('<section id="import-progress"')
    assert "<html" not in html
    assert 'hx-trigger="every 1s"' in html
    assert "50 of 200 rows (25 %)" in html
    assert "HX-Refresh" not in fragment.headers
    assert page.status_code == 200
    assert "<html" in page.content.decode()
    assert 'class="breadcrumbs"' in page.content.decode()
    assert "50 of 200 rows (25 %)" in page.content.decode()
    assert 'hx-trigger="every 1s"' in page.content.decode()


def test_a_refused_import_stops_polling_and_shows_the_row_by_row_errors(
    manager_client, shop, stocked_variant
):
    stocked_variant(sku="KNOWN")
    job = finished_job(
        [["sku", "location", "on_hand"], ["KNOWN", "paris", "1"], ["NOPE", "moon", "x"]]
    )

    page = manager_client.get(job_url(job)).content.decode()
    fragment = manager_client.get(job_url(job, "progress"), headers={"HX-Request": "true"})

    assert job.status == "failed"
    assert "hx-trigger" not in page
    assert "Nothing was imported" in page
    assert "Correct these 3 errors in the file, then upload it again." in page
    for cells in [
        ("2", "sku", "NOPE", "No variant has the SKU “NOPE”."),
        ("2", "location", "moon", "No location has the code “moon”."),
        ("2", "on_hand", "x", "A quantity is a whole number of zero or more."),
    ]:
        row = "".join(f"<td>{cell}</td>" for cell in cells)
        assert "".join(row.split()) in "".join(page.split())
    assert f'href="{job_url(job, "errors")}"' in page
    assert fragment["HX-Refresh"] == "true"  # the watching page reloads with final figures
    assert "hx-trigger" not in fragment.content.decode()


def test_a_finished_import_shows_its_summary(manager_client, shop, stocked_variant):
    stocked_variant(sku="KNOWN")
    job = finished_job([["sku", "location", "on_hand"], ["KNOWN", "paris", "4"]])

    page = manager_client.get(job_url(job)).content.decode()

    assert job.status == "done"
    assert "hx-trigger" not in page
    assert "<h2>Imported</h2>" in page
    assert '<tr><th scope="row">Stock ledger rows written</th><td>1</td></tr>' in page
    assert '<tr><th scope="row">Updated</th><td>0</td></tr>' in page
    assert '<tr><th scope="row">Created</th><td>1</td></tr>' in page


def test_the_errors_and_the_file_of_an_import_can_be_downloaded(manager_client, shop):
    job = finished_job([["sku", "location", "on_hand"], ["NOPE", "paris", "1"]])

    errors = manager_client.get(job_url(job, "errors"))
    original = manager_client.get(job_url(job, "file"))

    assert errors["Content-Type"] == "text/csv; charset=utf-8"
    assert b"".join(errors.streaming_content).decode() == (
        "\ufeffrow,column,value,message\r\n1,sku,NOPE,No variant has the SKU “NOPE”.\r\n"
    )
    assert original.content.decode() == "sku,location,on_hand\r\nNOPE,paris,1\r\n"
    assert original["Content-Disposition"] == f'attachment; filename="import-{job.pk}.csv"'


def test_the_exports_stream_csv_files_in_the_import_format(manager_client, shop, stocked_variant):
    stocked_variant(store=2, warehouse=5, sku="A-1", attributes={"size": "S", "fit": "wide"})
    stocked_variant(store=1, sku="B-1")

    products = manager_client.get(reverse("admin:inventory_importjob_export_products"))
    stock = manager_client.get(
        reverse("admin:inventory_importjob_export_stock"), {"location": "warehouse"}
    )
    unknown = manager_client.get(
        reverse("admin:inventory_importjob_export_stock"), {"location": "moon"}
    )

    for response, rows, name in [
        (products, products_csv_rows(), "products-"),
        (stock, stock_csv_rows(location=shop.warehouse), "stock-warehouse-"),
    ]:
        assert isinstance(response, StreamingHttpResponse)
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith(f'attachment; filename="{name}')
        body = b"".join(response.streaming_content).decode("utf-8")
        assert body == "\ufeff" + csv_lines(rows)
    assert len(csv_lines(products_csv_rows()).splitlines()) == 3
    assert csv_lines(stock_csv_rows(location=shop.warehouse)).splitlines() == [
        "sku,location,on_hand,safety",
        "A-1,warehouse,5,0",
    ]
    assert unknown.status_code == 404


def test_staff_without_the_permissions_can_neither_upload_nor_export(db, client, sent):
    clerk = UserFactory(is_staff=True, permissions=["inventory.view_importjob"])
    client.force_login(clerk)
    upload = SimpleUploadedFile("f.csv", b"sku,location,on_hand\nA,b,1\n")

    changelist = client.get(reverse("admin:inventory_importjob_changelist"))
    responses = [
        client.get(reverse("admin:inventory_importjob_upload")),
        client.post(reverse("admin:inventory_importjob_upload"), {"kind": "stock", "file": upload}),
        client.get(reverse("admin:inventory_importjob_export_products")),
        client.get(reverse("admin:inventory_importjob_export_stock")),
    ]

    assert changelist.status_code == 200
    assert "Export products (CSV)" not in changelist.content.decode()
    assert "Import a CSV file" not in changelist.content.decode()
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert not ImportJob.objects.exists()


def test_importing_stock_needs_the_right_to_change_stock_levels(db, client, sent):
    clerk = UserFactory(
        is_staff=True, permissions=["inventory.view_importjob", "inventory.add_importjob"]
    )
    client.force_login(clerk)
    upload = SimpleUploadedFile("f.csv", b"sku,location,on_hand\nA,b,1\n")

    response = client.post(
        reverse("admin:inventory_importjob_upload"), {"kind": "stock", "file": upload}
    )

    assert response.status_code == 200
    assert "You may not import this kind of file." in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_queue_again_action_requeues_waiting_imports_only(
    manager_client, shop, stocked_variant, sent, django_capture_on_commit_callbacks
):
    stocked_variant(sku="KNOWN")
    done = finished_job([["sku", "location", "on_hand"], ["KNOWN", "paris", "4"]])
    waiting = import_job_create(
        kind="stock", filename="w.csv", content="sku,location,on_hand\nKNOWN,paris,1\n"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            reverse("admin:inventory_importjob_changelist"),
            {"action": "queue_again", "_selected_action": [done.pk, waiting.pk]},
            follow=True,
        )

    page = response.content.decode()
    assert sent == [waiting.pk]
    assert "1 imports queued again." in page
    assert f"The import {done.pk} is over (imported): upload the file again to rerun it." in page
