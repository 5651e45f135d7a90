"""Product pictures in a real browser: uploaded in the admin's product page, previewed
there and in the product list once the worker made the thumbnails, and shown on the
till's product grid — every picture loaded from the storage through MEDIA_URL."""

from decimal import Decimal
from io import BytesIO

import pytest
from django.contrib.auth import get_user_model
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from catalog import services
from catalog.images import product_image_add, product_image_thumbnails_make
from catalog.models import ProductImage
from inventory.services.stock import stock_receive

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def drawing(colour: str, size=(900, 600)) -> bytes:
    image = Image.new("RGB", size, "#f4f1ea")
    ImageDraw.Draw(image).ellipse((150, 80, 750, 520), fill=colour)
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def loaded(locator) -> bool:
    """The picture arrived and decoded (waiting for it: a busy machine serves it late;
    a broken one never gets a width)."""
    return locator.evaluate(
        """img => img.complete && img.naturalWidth > 0 ? true : new Promise(done => {
            img.addEventListener("load", () => done(img.naturalWidth > 0), {once: true});
            img.addEventListener("error", () => done(false), {once: true});
            setTimeout(() => done(img.complete && img.naturalWidth > 0), 10000);
        })"""
    )


def test_a_manager_uploads_a_picture_and_the_till_shows_it(
    live_server, page, screenshot, shop, tmp_path
):
    get_user_model().objects.create_superuser("claire", "c@example.com", "pw-claire-1")
    tee = services.product_create(name="Organic tee", vat_rate=Decimal("20.0"))
    navy = services.variant_create(
        product=tee, sku="TEE-NAVY", price_amount=Decimal("24.90"), attributes={"colour": "Navy"}
    )
    stock_receive(variant_id=navy.pk, location_id=shop.store.pk, quantity=4)
    mug = services.product_create(name="Stoneware mug", vat_rate=Decimal("20.0"))
    services.variant_create(product=mug, sku="MUG-1", price_amount=Decimal("12.00"))
    product_image_add(product=mug, file=BytesIO(drawing("#b5523b")), alt="The mug")
    (tmp_path / "navy tee.jpg").write_bytes(drawing("#1f2d54"))

    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("claire")
    page.get_by_label("Password").fill("pw-claire-1")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/catalog/product/{tee.pk}/change/")
    row = page.locator("#images-group tr.form-row").first
    row.locator('input[type="file"]').set_input_files(str(tmp_path / "navy tee.jpg"))
    row.locator("select").select_option(label=str(navy))
    row.locator('input[name$="-alt"]').fill("Navy tee, front")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist .success")).to_be_visible()

    image = ProductImage.objects.get(product=tee)
    assert (image.width, image.height, image.variant_id) == (900, 600, navy.pk)
    # the original is shown until the worker made the thumbnails; here the task's service
    preview = page.locator("#images-group td.field-preview img").first
    expect(preview).to_be_visible()
    assert loaded(preview)
    assert product_image_thumbnails_make(image_id=image.pk) == "made"
    page.reload()
    image.refresh_from_db()
    expect(page.locator("#images-group td.field-preview img").first).to_have_attribute(
        "src", f"/media/{image.thumbnails['160']}"
    )
    assert loaded(page.locator("#images-group td.field-preview img").first)
    screenshot("product-images-1-admin-product")

    page.goto(f"{live_server.url}/admin/catalog/product/")
    pictures = page.locator("#result_list .field-picture img")
    expect(pictures).to_have_count(2)
    assert all(loaded(pictures.nth(i)) for i in range(2))
    screenshot("product-images-2-admin-list")

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()

    tiles = page.locator("#grid .tile-picture img")
    expect(tiles).to_have_count(2)
    assert all(loaded(tiles.nth(i)) for i in range(2))
    expect(page.locator(f'#grid .tile[data-product="{tee.pk}"] img')).to_have_attribute(
        "src", f"/media/{image.thumbnails['160']}"
    )
    screenshot("product-images-3-pos-grid")
