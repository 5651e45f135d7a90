from django.contrib.auth import authenticate
from django.core.management import call_command

from catalog.barcodes import barcode_problem
from catalog.models import Barcode, Category, Product, Publication, SalesChannel, Variant
from customers.models import Customer
from inventory.models import Location, StockLevel, StockMovement
from pos.selectors import registers_for
from unicommerce.demo.accounts import DEMO_ACCOUNTS


def test_demo_data_is_worth_looking_at_and_loads_idempotently(db, capsys):
    call_command("demo_load")
    counts = (Product.objects.count(), Variant.objects.count(), StockMovement.objects.count())
    call_command("demo_load")

    assert (
        Product.objects.count(),
        Variant.objects.count(),
        StockMovement.objects.count(),
    ) == counts
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
    for account in DEMO_ACCOUNTS:
        user = authenticate(username=account.username, password=account.password)
        assert user is not None, account.username
    paris_seller = authenticate(username="seller-paris", password="seller-demo")
    assert [r.location.code for r in registers_for(paris_seller)] == ["paris", "paris"]
    assert "demo web-channel API key" in capsys.readouterr().out
