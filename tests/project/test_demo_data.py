from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from catalog.barcodes import barcode_problem
from catalog.models import Barcode, Category, Product, ProductImage, Publication, Variant
from customers.models import Customer
from inventory.models import Location, StockLevel, StockMovement
from pos.selectors import registers_for
from unicommerce.access.roles import GROUP_NAMES
from unicommerce.channels.models import ApiKey, SalesChannel
from unicommerce.demo.accounts import DEMO_ACCOUNTS


def test_demo_data_is_worth_looking_at_and_loads_idempotently(
    db, capsys, django_capture_on_commit_callbacks
):
    # The thumbnails are made once the pictures are committed (as `make run` commits).
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_load")
    counts = (
        Product.objects.count(),
        Variant.objects.count(),
        StockMovement.objects.count(),
        ProductImage.objects.count(),
    )
    call_command("demo_load")

    assert (
        Product.objects.count(),
        Variant.objects.count(),
        StockMovement.objects.count(),
        ProductImage.objects.count(),
    ) == counts
    # A picture per product, drawn at load time, its thumbnail made (the till's grid).
    assert counts[3] == counts[0]
    assert not ProductImage.objects.filter(thumbnails_made_at__isnull=True).exists()
    assert 190 <= counts[0] <= 220
    assert counts[1] > 3 * counts[0]
    kinds = set(Location.objects.values_list("kind", flat=True))
    assert {"warehouse", "store"} <= kinds
    assert Location.objects.filter(kind="store").count() == 2
    assert SalesChannel.objects.filter(kind="web").exists()
    assert all(barcode_problem(b) is None for b in Barcode.objects.values_list("code", flat=True))
    assert not Variant.objects.filter(barcodes__isnull=True).exists()
    assert Category.objects.filter(parent__isnull=False).exists()
    assert Publication.objects.count() == Product.objects.count() * SalesChannel.objects.count()
    assert set(Product.objects.values_list("vat_rate", flat=True)) >= {20, 5.5}
    for level in StockLevel.objects.all()[:200]:
        assert level.on_hand == sum(
            StockMovement.objects.filter(
                variant=level.variant, location=level.location
            ).values_list("quantity", flat=True)
        )
    assert Customer.objects.count() >= 5
    request = RequestFactory().post("/pos/login/")  # the log-in lockout reads the request
    for account in DEMO_ACCOUNTS:
        user = authenticate(request, username=account.username, password=account.password)
        assert user is not None, account.username
        assert user.groups.get().name == GROUP_NAMES[account.role]
        assert sorted(user.locations.values_list("code", flat=True)) == sorted(account.stores)
    paris_seller = authenticate(request, username="seller-paris", password="seller-demo")
    assert [r.location.code for r in registers_for(paris_seller)] == ["paris", "paris"]
    output = capsys.readouterr().out
    assert "demo web-channel publishable key: uck_pk_" in output
    assert "demo web-channel secret key: uck_sk_" in output
    kinds = dict(ApiKey.objects.filter(channel__code="web").values_list("name", "kind"))
    assert sorted(kinds.values()) == ["publishable", "secret"]
