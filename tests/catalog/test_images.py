"""Product images (issue 12): uploaded through the admin, checked before anything is
stored, thumbnails made by the worker's task through the storage, every address from
``storage.url()`` (so S3 works as a folder does), in the API with sizes and srcset."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from django.core.files.storage import InMemoryStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from catalog import images
from catalog.exceptions import InvalidImage, VariantOfAnotherProduct
from catalog.models import CatalogChange, ProductImage, Publication
from catalog.selectors import product_thumbnails
from catalog.tasks import image_thumbnails_task
from inventory.api.serializers import ProductOutputSerializer
from tests.api.conftest import client_with_key
from tests.catalog.test_catalog_admin import inline_management, product_form
from tests.factories import ProductFactory, UserFactory, VariantFactory
from unicommerce.channels.services import api_key_create

pytestmark = pytest.mark.django_db

RANDOM_NAME = r"products/{product}/[0-9a-f]{{24}}\.{ext}"


@pytest.fixture(autouse=True)
def storage(settings):
    """A fresh in-memory default storage for each test: what a test stored, and only
    that, is in it (and nothing is ever written into the repository)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    return default_storage


@pytest.fixture
def queued(monkeypatch) -> list:
    """The thumbnail tasks handed to the broker."""
    sent: list = []
    monkeypatch.setattr(
        image_thumbnails_task, "apply_async", lambda args, **kwargs: sent.append(args[0])
    )
    return sent


@pytest.fixture
def manager(django_user_model):
    return django_user_model.objects.create_superuser("claire", "c@example.com", "pw-claire-1")


@pytest.fixture
def admin_client(client, manager):
    client.force_login(manager)
    return client


def picture_bytes(fmt: str = "JPEG", size=(1200, 800), mode: str = "RGB", **save) -> bytes:
    buffer = BytesIO()
    Image.new(mode, size, "navy" if mode == "RGB" else 0).save(buffer, fmt, **save)
    return buffer.getvalue()


def upload(content: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_files(storage) -> list[str]:
    found = []

    def walk(folder: str) -> None:
        directories, files = storage.listdir(folder)
        found.extend(f"{folder}/{name}".lstrip("/") for name in files)
        for directory in directories:
            walk(f"{folder}/{directory}".lstrip("/"))

    walk("")
    return sorted(found)


def size_of(storage, name: str) -> tuple[str, tuple[int, int]]:
    with storage.open(name, "rb") as file, Image.open(file) as picture:
        return picture.format, picture.size


# --------------------------------------------------------------------------- admin


def test_a_picture_uploaded_in_the_admin_is_stored_under_a_random_name_and_queued_after_commit(
    admin_client, manager, storage, queued, django_capture_on_commit_callbacks
):
    variant = VariantFactory()
    product = variant.product
    data = product_form(product)
    data.update(inline_management("images", 1, 0))
    data.update(
        {
            "images-0-image": upload(picture_bytes(), name="../../etc/Très jolie photo.JPG"),
            "images-0-variant": variant.pk,
            "images-0-alt": "  Navy tee, front  ",
            "images-0-position": "0",
        }
    )

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            reverse("admin:catalog_product_change", args=[product.pk]), data
        )
        assert queued == [], "nothing is queued before the commit"

    assert response.status_code == 302, response.content.decode()[:3000]
    image = ProductImage.objects.get()
    assert re.fullmatch(RANDOM_NAME.format(product=product.pk, ext="jpg"), image.image.name)
    assert (image.variant, image.alt, image.width, image.height) == (
        variant,
        "Navy tee, front",
        1200,
        800,
    )
    assert stored_files(storage) == [image.image.name]
    assert image.thumbnails == {}
    assert image.thumbnails_made_at is None
    change = CatalogChange.objects.get(product=product, kind=CatalogChange.Kind.IMAGES)
    assert (change.created_by, change.changes) == (manager, {"image": [None, image.image.name]})
    for callback in callbacks:
        callback()
    assert queued == [image.pk]


def test_the_product_page_previews_its_pictures_and_the_list_shows_the_first(admin_client, storage):
    product = ProductFactory(name="Organic tee")
    image = images.product_image_add(product=product, file=upload(picture_bytes()))
    images.product_image_thumbnails_make(image_id=image.pk)
    image.refresh_from_db()
    small = storage.url(image.thumbnails["160"])

    page = admin_client.get(reverse("admin:catalog_product_change", args=[product.pk]))
    listing = admin_client.get(reverse("admin:catalog_product_changelist"))

    assert page.status_code == listing.status_code == 200
    assert f'<img src="{small}"' in page.content.decode()
    assert f'<img src="{small}"' in listing.content.decode()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "photo.jpg", "Upload a valid image"),
        (picture_bytes()[:600], "photo.jpg", "Upload a valid image"),
        (picture_bytes("GIF", mode="P"), "photo.gif", "not a JPEG, PNG or WebP picture"),
        (picture_bytes("PNG", size=(10_000, 10_000), mode="1"), "bomb.png", "too many pixels"),
    ],
    ids=["html", "truncated", "gif", "decompression-bomb"],
)
def test_a_bad_file_is_a_form_error_in_the_admin_and_nothing_is_stored(
    admin_client, storage, queued, content, name, message
):
    product = ProductFactory()
    data = product_form(product)
    data.update(inline_management("images", 1, 0))
    data.update({"images-0-image": upload(content, name=name), "images-0-position": "0"})

    response = admin_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ProductImage.objects.exists()
    assert stored_files(storage) == []
    assert queued == []


def test_a_file_over_the_size_cap_is_refused_in_the_admin(admin_client, storage, settings):
    settings.PRODUCT_IMAGE_MAX_BYTES = 2_000
    product = ProductFactory()
    data = product_form(product)
    data.update(inline_management("images", 1, 0))
    data.update({"images-0-image": upload(picture_bytes(quality=95)), "images-0-position": "0"})

    response = admin_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data)

    assert response.status_code == 200
    assert "a picture may be 0.00190735 MB at most" in response.content.decode()
    assert not ProductImage.objects.exists()
    assert stored_files(storage) == []


def test_the_admin_offers_only_the_products_own_variants(admin_client, storage):
    product = ProductFactory()
    other = VariantFactory()
    data = product_form(product)
    data.update(inline_management("images", 1, 0))
    data.update(
        {
            "images-0-image": upload(picture_bytes()),
            "images-0-variant": other.pk,
            "images-0-position": "0",
        }
    )

    response = admin_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data)

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not ProductImage.objects.exists()
    assert stored_files(storage) == []


def test_replacing_and_deleting_in_the_admin_removes_the_old_files_after_commit(
    admin_client, storage, queued, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    image = images.product_image_add(product=product, file=upload(picture_bytes()))
    images.product_image_thumbnails_make(image_id=image.pk)
    image.refresh_from_db()
    first_files = stored_files(storage)
    assert len(first_files) == 4  # the original and three thumbnails
    data = product_form(product)
    data.update(inline_management("images", 1, 1))
    data.update(
        {
            "images-0-id": image.pk,
            "images-0-product": product.pk,
            "images-0-image": upload(picture_bytes("PNG", size=(600, 400)), name="new.png"),
            "images-0-position": "0",
        }
    )
    url = reverse("admin:catalog_product_change", args=[product.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    image.refresh_from_db()
    assert re.fullmatch(RANDOM_NAME.format(product=product.pk, ext="png"), image.image.name)
    assert (image.width, image.height, image.thumbnails) == (600, 400, {})
    assert stored_files(storage) == [image.image.name], "the old file and thumbnails are gone"
    assert queued == [image.pk]

    data["images-0-DELETE"] = "on"
    del data["images-0-image"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)

    assert response.status_code == 302
    assert not ProductImage.objects.exists()
    assert stored_files(storage) == []


# --------------------------------------------------------------------------- services


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not_an_image"),
        (b"GIF89a" + b"\0" * 100, "not_an_image"),
        (picture_bytes()[:-200], "not_an_image"),
        (picture_bytes("PNG", size=(10_000, 10_000), mode="1"), "too_many_pixels"),
    ],
    ids=["empty", "gif-header", "truncated", "decompression-bomb"],
)
def test_the_service_refuses_a_bad_file_and_stores_nothing(storage, queued, content, reason):
    product = ProductFactory()

    with pytest.raises(InvalidImage) as refused:
        images.product_image_add(product=product, file=upload(content))

    assert refused.value.details == {"reason": reason}
    assert refused.value.http_status == 400
    assert not ProductImage.objects.exists()
    assert not CatalogChange.objects.filter(kind=CatalogChange.Kind.IMAGES).exists()
    assert stored_files(storage) == []


def test_a_variant_of_another_product_is_refused_and_nothing_is_stored(storage, queued):
    product = ProductFactory()
    other = VariantFactory(sku="OTHER-1")

    with pytest.raises(VariantOfAnotherProduct) as refused:
        images.product_image_add(product=product, file=upload(picture_bytes()), variant=other)

    assert refused.value.details == {"sku": "OTHER-1", "product": product.pk}
    assert not ProductImage.objects.exists()
    assert stored_files(storage) == []
    image = images.product_image_add(product=product, file=upload(picture_bytes()))
    with pytest.raises(VariantOfAnotherProduct):
        images.product_image_update(image=image, variant=other)
    image.refresh_from_db()
    assert image.variant is None


def test_a_phone_photo_turned_by_exif_has_the_width_and_height_it_is_shown_with(storage):
    exif = Image.Exif()
    exif[images.EXIF_ORIENTATION] = 6  # taken sideways: shown rotated 90°
    content = picture_bytes(size=(1200, 800), exif=exif.tobytes())

    image = images.product_image_add(product=ProductFactory(), file=upload(content))
    images.product_image_thumbnails_make(image_id=image.pk)
    image.refresh_from_db()

    assert (image.width, image.height) == (800, 1200)
    assert size_of(storage, image.thumbnails["480"]) == ("WEBP", (480, 720))


# --------------------------------------------------------------------------- thumbnails


def test_the_task_makes_the_thumbnails_through_the_storage_once(storage):
    image = images.product_image_add(product=ProductFactory(), file=upload(picture_bytes()))

    assert image_thumbnails_task(image.pk) == "made"

    image.refresh_from_db()
    assert set(image.thumbnails) == {"160", "480", "1024"}
    for width, name in image.thumbnails.items():
        assert size_of(storage, name) == ("WEBP", (int(width), round(800 * int(width) / 1200)))
    files = stored_files(storage)
    assert len(files) == 4
    assert image_thumbnails_task(image.pk) == "done"
    assert stored_files(storage) == files, "a second run changes nothing"


def test_a_run_that_finds_the_picture_replaced_keeps_nothing_it_made(storage, monkeypatch):
    image = images.product_image_add(product=ProductFactory(), file=upload(picture_bytes()))
    real_save = InMemoryStorage.save

    def save_and_replace_meanwhile(self, name, content, **kwargs):
        ProductImage.objects.filter(pk=image.pk).update(image="products/replaced.jpg")
        return real_save(self, name, content, **kwargs)

    monkeypatch.setattr(InMemoryStorage, "save", save_and_replace_meanwhile)

    assert images.product_image_thumbnails_make(image_id=image.pk) == "superseded"
    assert stored_files(storage) == [image.image.name]
    assert images.product_image_thumbnails_make(image_id=999_999) == "gone"


def test_a_small_picture_gets_only_the_smaller_thumbnails_and_is_its_own_largest_size(storage):
    product = ProductFactory()
    image = images.product_image_add(
        product=product, file=upload(picture_bytes("PNG", size=(300, 200), mode="RGBA"))
    )
    images.product_image_thumbnails_make(image_id=image.pk)
    image.refresh_from_db()

    assert list(image.thumbnails) == ["160"]
    payload = images.image_payload(
        name=image.image.name,
        thumbnails=image.thumbnails,
        width=300,
        height=200,
        alt="",
        variant=None,
    )
    original, small = storage.url(image.image.name), storage.url(image.thumbnails["160"])
    assert payload["sizes"] == {"160": small, "480": original, "1024": original}
    assert payload["srcset"] == f"{small} 160w, {original} 300w"


# --------------------------------------------------------------------------- API

URL = "/api/v1/products/"


@pytest.fixture
def web_api(shop):
    """The web store's front end, with its channel key."""
    _, raw_key = api_key_create(channel=shop.web, name="front end")
    return client_with_key(raw_key)


@pytest.fixture
def publish(shop):
    def run(product):
        Publication.objects.get_or_create(product=product, channel=shop.web)

    return run


@pytest.fixture
def pictured(publish):
    """A published product with a picture of the product and one of its navy variant."""
    product = ProductFactory(name="Organic tee")
    navy = VariantFactory(product=product, sku="TEE-NAVY", attributes={"colour": "Navy"})
    VariantFactory(product=product, sku="TEE-SAND", attributes={"colour": "Sand"})
    publish(product)
    whole = images.product_image_add(
        product=product, file=upload(picture_bytes()), alt="The tee", position=0
    )
    of_navy = images.product_image_add(
        product=product,
        file=upload(picture_bytes("WEBP", size=(900, 900))),
        variant=navy,
        alt="Navy",
        position=1,
    )
    return product, navy, whole, of_navy


def test_until_the_thumbnails_exist_the_api_gives_the_original_for_every_size(
    web_api, pictured, storage
):
    _, _, whole, _ = pictured

    response = web_api.get(URL, HTTP_HOST="localhost")

    [found] = response.json()["results"]
    original = "http://localhost" + storage.url(whole.image.name)
    assert found["images"][0] == {
        "url": original,
        "alt": "The tee",
        "variant": None,
        "width": 1200,
        "height": 800,
        "sizes": {"160": original, "480": original, "1024": original},
        "srcset": f"{original} 1200w",
    }
    documented = ProductOutputSerializer(data=found)
    assert documented.is_valid(), documented.errors  # the schema documents this shape


def test_the_api_gives_each_size_and_a_srcset_and_each_variant_its_own_pictures(
    web_api, pictured, storage
):
    product, navy, whole, of_navy = pictured
    for image in (whole, of_navy):
        images.product_image_thumbnails_make(image_id=image.pk)
        image.refresh_from_db()

    response = web_api.get(f"{URL}{product.pk}/", HTTP_HOST="localhost")

    assert response.status_code == 200
    found = response.json()

    def url(name: str) -> str:
        return "http://localhost" + storage.url(name)

    small, medium, large = (url(whole.thumbnails[w]) for w in ("160", "480", "1024"))
    assert found["images"][0]["sizes"] == {"160": small, "480": medium, "1024": large}
    assert found["images"][0]["srcset"] == f"{small} 160w, {medium} 480w, {large} 1024w"
    navy_picture = found["images"][1]
    assert (navy_picture["variant"], navy_picture["alt"]) == (navy.pk, "Navy")
    assert navy_picture["srcset"] == (
        f"{url(of_navy.thumbnails['160'])} 160w, {url(of_navy.thumbnails['480'])} 480w, "
        f"{url(of_navy.image.name)} 900w"
    )
    by_sku = {v["sku"]: v["images"] for v in found["variants"]}
    assert by_sku == {"TEE-NAVY": [navy_picture], "TEE-SAND": []}
    documented = ProductOutputSerializer(data=found)
    assert documented.is_valid(), documented.errors


def test_every_address_is_the_storages_own(web_api, pictured, settings, storage):
    """An S3-like storage answers absolute (signed) URLs: the API passes them on as they
    are, never building one from a path."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.InMemoryStorage",
            "OPTIONS": {"base_url": "https://bucket.example.test/media/"},
        },
    }
    product, _, whole, _ = pictured

    found = web_api.get(f"{URL}{product.pk}/").json()

    assert found["images"][0]["url"] == f"https://bucket.example.test/media/{whole.image.name}"
    assert all(
        i["url"].startswith("https://bucket.example.test/media/products/") for i in found["images"]
    )


def test_a_picture_of_an_inactive_variant_is_not_shown(web_api, pictured):
    product, navy, _, _ = pictured
    navy.is_active = False
    navy.save()

    found = web_api.get(f"{URL}{product.pk}/").json()

    assert [i["alt"] for i in found["images"]] == ["The tee"]


@pytest.mark.parametrize("page_size", [2, 25])
def test_pictures_do_not_add_queries_to_the_catalog_list(
    web_api, publish, storage, django_assert_num_queries, page_size
):
    for index in range(30):
        product = ProductFactory()
        variant = VariantFactory(product=product)
        publish(product)
        images.product_image_add(product=product, file=upload(picture_bytes(size=(200, 100))))
        if index % 2:
            images.product_image_add(
                product=product, file=upload(picture_bytes(size=(200, 100))), variant=variant
            )
    for image in ProductImage.objects.all():
        images.product_image_thumbnails_make(image_id=image.pk)
    web_api.get(URL)  # the key is read once, then remembered

    # still the one statement of the page: the pictures come with it
    with django_assert_num_queries(1):
        response = web_api.get(URL, {"page_size": page_size})

    results = response.json()["results"]
    assert len(results) == page_size
    assert all(product["images"] for product in results)


# --------------------------------------------------------------------------- POS, media


def test_product_thumbnails_prefer_the_asked_variants_then_the_product_in_one_query(
    storage, django_assert_num_queries
):
    tee, mug, bare = ProductFactory(), ProductFactory(), ProductFactory()
    navy, sand = VariantFactory(product=tee), VariantFactory(product=tee)
    whole = images.product_image_add(product=tee, file=upload(picture_bytes()), position=5)
    of_navy = images.product_image_add(
        product=tee, file=upload(picture_bytes()), variant=navy, position=0
    )
    images.product_image_add(product=tee, file=upload(picture_bytes()), variant=sand)
    of_mug = images.product_image_add(
        product=mug, file=upload(picture_bytes()), variant=VariantFactory(product=mug)
    )
    images.product_image_thumbnails_make(image_id=whole.pk)
    whole.refresh_from_db()

    with django_assert_num_queries(1):
        plain = product_thumbnails([tee.pk, mug.pk, bare.pk])
    asked = product_thumbnails([tee.pk], variant_ids=[navy.pk])

    assert plain == {
        tee.pk: storage.url(whole.thumbnails["160"]),  # the product's own, thumbnail made
        mug.pk: storage.url(of_mug.image.name),  # a variant's, the original until made
    }
    assert asked == {tee.pk: storage.url(of_navy.image.name)}
    # every variant asked (a grid tile lists them all): nothing singled out
    every = product_thumbnails([tee.pk], variant_ids=[navy.pk, sand.pk])
    assert every == {tee.pk: storage.url(whole.thumbnails["160"])}
    assert product_thumbnails([]) == {}


def test_media_are_served_from_the_storage_with_their_type(client, storage):
    image = images.product_image_add(
        product=ProductFactory(), file=upload(picture_bytes("PNG", size=(20, 20)))
    )

    response = client.get(storage.url(image.image.name))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    for missing in ("products/1/nothing.png", "products/../settings.py", "products/x.html"):
        assert client.get(f"/media/{missing}").status_code == 404


# --------------------------------------------------------------------------- upload API


@pytest.fixture
def catalog_api(db):
    """A back-office script's client: a staff key of someone who may add pictures."""
    user = UserFactory(permissions=["catalog.add_productimage"])
    _, raw_key = api_key_create(user=user, name="PIM sync")
    client = client_with_key(raw_key)
    client.user = user
    return client


def test_a_picture_uploaded_through_the_api_is_stored_and_answered_with_its_sizes(
    catalog_api, storage, queued, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    navy = VariantFactory(product=product, sku="TEE-NAVY")

    with django_capture_on_commit_callbacks(execute=True):
        response = catalog_api.post(
            f"/api/v1/products/{product.pk}/images/",
            {"image": upload(picture_bytes()), "alt": "Navy", "variant": "tee-navy"},
            format="multipart",
            HTTP_HOST="localhost",
        )

    assert response.status_code == 201, response.json()
    image = ProductImage.objects.get()
    original = "http://localhost" + storage.url(image.image.name)
    assert response.json() == {
        "url": original,
        "alt": "Navy",
        "variant": navy.pk,
        "width": 1200,
        "height": 800,
        "sizes": {"160": original, "480": original, "1024": original},
        "srcset": f"{original} 1200w",
    }
    assert image.variant == navy
    assert queued == [image.pk]
    assert CatalogChange.objects.get(kind="images").created_by == catalog_api.user


@pytest.mark.parametrize(
    ("form", "code", "details"),
    [
        ({"image": upload(b"%PDF-1.4 not a picture", name="x.jpg")}, "invalid_image", None),
        ({"image": upload(picture_bytes("GIF", mode="P"), name="x.gif")}, "invalid_image", None),
        (
            {"image": upload(picture_bytes()), "variant": "OTHER-1"},
            "variant_of_another_product",
            None,
        ),
        (
            {"image": upload(picture_bytes()), "variant": "NO-SUCH"},
            "invalid",
            {"variant": ["No variant has this SKU."]},
        ),
        ({"alt": "no file"}, "invalid", {"image": ["No file was submitted."]}),
    ],
    ids=["pdf", "gif", "other-product", "unknown-sku", "no-file"],
)
def test_a_refused_upload_is_a_400_in_the_api_shape_and_nothing_is_stored(
    catalog_api, storage, queued, form, code, details
):
    product = ProductFactory()
    VariantFactory(sku="OTHER-1")

    response = catalog_api.post(f"/api/v1/products/{product.pk}/images/", form, format="multipart")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    if details is not None:
        assert response.json()["error"]["details"] == details
    assert not ProductImage.objects.exists()
    assert stored_files(storage) == []
    assert queued == []


def test_only_staff_allowed_to_add_pictures_may_upload(web_api, catalog_api, storage):
    product = ProductFactory()
    url = f"/api/v1/products/{product.pk}/images/"

    refused = web_api.post(url, {"image": upload(picture_bytes())}, format="multipart")
    missing = catalog_api.post(
        "/api/v1/products/999999/images/", {"image": upload(picture_bytes())}, format="multipart"
    )
    as_json = catalog_api.post(url, {"alt": "x"}, format="json")

    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission_denied")
    assert missing.status_code == 404
    assert as_json.status_code == 415
    assert stored_files(storage) == []


def test_the_till_shows_the_product_picture_on_the_grid_and_the_matched_variant_in_search(
    client, shop, storage
):
    tee = ProductFactory(name="Organic tee")
    navy = VariantFactory(product=tee, sku="TEE-NAVY", attributes={"colour": "Navy"})
    VariantFactory(product=tee, sku="TEE-SAND", attributes={"colour": "Sand"})
    whole = images.product_image_add(product=tee, file=upload(picture_bytes()))
    of_navy = images.product_image_add(product=tee, file=upload(picture_bytes()), variant=navy)
    client.force_login(shop.seller)
    client.post("/pos/", {"register": shop.register.pk})

    grid = client.get("/pos/sell/").content.decode()
    found = client.get("/pos/sell/", {"code": "tee navy"}, HTTP_HX_REQUEST="true")

    assert f'<img src="{storage.url(whole.image.name)}"' in grid
    assert f'<img src="{storage.url(of_navy.image.name)}"' in found.content.decode()


def test_the_list_action_queues_the_pictures_still_without_thumbnails(
    admin_client, storage, queued, django_capture_on_commit_callbacks
):
    tee, mug = ProductFactory(), ProductFactory()
    done = images.product_image_add(product=tee, file=upload(picture_bytes()))
    images.product_image_thumbnails_make(image_id=done.pk)
    waiting = images.product_image_add(product=tee, file=upload(picture_bytes()))
    images.product_image_add(product=mug, file=upload(picture_bytes()))  # not selected

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:catalog_product_changelist"),
            {"action": "thumbnails_make_missing", "_selected_action": [tee.pk]},
        )

    assert response.status_code == 302
    assert queued == [waiting.pk]
