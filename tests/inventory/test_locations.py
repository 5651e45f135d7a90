from django.core.management import call_command
from django.urls import reverse

from inventory.models import ChannelStock
from tests.conftest import run_outbox
from tests.factories import SalesChannelFactory


def figures(variant) -> dict:
    return dict(
        ChannelStock.objects.filter(variant=variant).values_list("channel__code", "quantity")
    )


def test_when_a_location_starts_feeding_a_channel_the_channel_may_sell_its_stock(
    admin_client, shop, stocked_variant
):
    variant = stocked_variant(warehouse=4)
    run_outbox()
    assert figures(variant) == {"web": 4, "store-paris": 0}

    response = admin_client.post(
        reverse("admin:inventory_location_change", args=[shop.warehouse.pk]),
        {
            "code": "warehouse",
            "name": "Warehouse",
            "kind": "warehouse",
            "city": "",
            "channels": [shop.web.pk, shop.store_channel.pk],
            "unbooked_sale_policy": "approval",
            "is_active": "on",
        },
    )
    run_outbox()

    assert response.status_code == 302
    assert figures(variant) == {"web": 4, "store-paris": 4}


def test_the_rebuild_command_recomputes_every_figure(shop, stocked_variant):
    variant = stocked_variant(store=2, warehouse=3)
    SalesChannelFactory(code="app")  # a new channel the worker has never computed
    ChannelStock.objects.all().delete()

    call_command("channel_stock_rebuild")

    assert figures(variant) == {"web": 5, "store-paris": 2, "app": 0}
