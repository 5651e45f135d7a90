"""Promotions and voucher campaigns in the back office: the list, the form's refusals as
form errors, codes inline, generation and CSV export, the preview, and who may do what."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from catalog.models import Category
from loyalty.models import Promotion, VoucherCode, VoucherRedemption
from loyalty.services.vouchers import vouchers_use
from tests.factories import ProductFactory, UserFactory, VariantFactory
from tests.loyalty.voucher_data import campaign, code

pytestmark = pytest.mark.django_db

URL = "/admin/loyalty/promotion/"


@pytest.fixture
def manager(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def form_data(**fields) -> dict:
    data = {
        "name": "Spring",
        "is_active": "on",
        "stage": "line",
        "reward": "percent",
        "value": "10",
        "priority": "0",
        "buy_quantity": "0",
        "get_quantity": "0",
        "codes-TOTAL_FORMS": "0",
        "codes-INITIAL_FORMS": "0",
        "codes-MIN_NUM_FORMS": "0",
        "codes-MAX_NUM_FORMS": "1000",
    }
    data.update({key: value for key, value in fields.items() if value is not None})
    return {key: value for key, value in data.items() if value != ""}


def test_the_list_shows_value_window_and_uses_against_the_limit(manager):
    voucher = campaign(name="Ten off", usage_limit=5)
    Promotion.objects.filter(pk=voucher.pk).update(used_count=3)
    campaign(name="Five euros", reward="amount", value=Decimal("5"), requires_code=False)

    response = manager.get(URL)

    assert response.status_code == 200
    text = response.content.decode()
    assert "Ten off" in text
    assert "10 %" in text
    assert "3 / 5" in text
    assert "€5.00" in text
    assert manager.get(URL + "?requires_code__exact=1").context["cl"].result_count == 1


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"value": "150"}, "value", "A percentage is at most 100."),
        ({"value": "0"}, "value", "The value must be more than zero."),
        ({"reward": "bxgy", "buy_quantity": "2"}, "buy_quantity", "both quantities"),
        ({"stage": "order", "reward": "free_item"}, "free_variant", "Choose the item given free."),
        (
            {"stage": "catalogue", "reward": "bxgy", "buy_quantity": "1", "get_quantity": "1"},
            "reward",
            "catalogue",
        ),
        (
            {
                "starts_at_0": "2026-05-02",
                "starts_at_1": "10:00",
                "ends_at_0": "2026-05-01",
                "ends_at_1": "10:00",
            },
            "ends_at",
            "The end must come after the start.",
        ),
        ({"usage_limit": "10"}, "usage_limit", "voucher campaign"),
    ],
)
def test_a_promotion_the_engine_could_not_apply_is_a_form_error(manager, fields, field, message):
    response = manager.post(URL + "add/", form_data(**fields))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field]), errors
    assert Promotion.objects.count() == 0


def test_a_campaign_is_created_with_its_codes_typed_as_people_type_them(manager):
    response = manager.post(
        URL + "add/",
        form_data(
            requires_code="on",
            usage_limit="100",
            segments=["champions"],
            **{
                "codes-TOTAL_FORMS": "1",
                "codes-0-code": " noel-2026 ab",
                "codes-0-is_active": "on",
            },
        ),
    )

    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    promotion = Promotion.objects.get()
    assert (promotion.requires_code, promotion.usage_limit, promotion.segments) == (
        True,
        100,
        ["champions"],
    )
    assert list(promotion.codes.values_list("code", flat=True)) == ["NOEL2026AB"]


def test_codes_on_an_automatic_promotion_are_refused(manager):
    response = manager.post(
        URL + "add/", form_data(**{"codes-TOTAL_FORMS": "1", "codes-0-code": "ABCD2345"})
    )

    assert response.status_code == 200
    assert "voucher campaign" in str(
        response.context["inline_admin_formsets"][0].formset.non_form_errors()
    )
    assert VoucherCode.objects.count() == 0


def test_the_inline_shows_codes_with_read_only_counters(manager):
    promotion = campaign()
    voucher = code(promotion, "NOEL2345", max_uses=3)
    vouchers_use(uses=[(voucher, Decimal("5"))], customer=None, reference="UC1")

    page = manager.get(f"{URL}{promotion.pk}/change/")

    assert page.status_code == 200
    formset = page.context["inline_admin_formsets"][0].formset
    assert [form.instance.code for form in formset.forms] == ["NOEL2345"]
    assert "used_count" not in formset.forms[0].fields
    assert f"/admin/loyalty/promotion/{promotion.pk}/preview/" in page.content.decode()


def test_a_campaign_with_many_codes_links_to_their_list_instead(manager):
    promotion = campaign()
    VoucherCode.objects.bulk_create(
        VoucherCode(promotion=promotion, code=f"C{i:06d}") for i in range(101)
    )

    page = manager.get(f"{URL}{promotion.pk}/change/")

    assert page.context["inline_admin_formsets"] == []
    assert f"?promotion__id__exact={promotion.pk}" in page.content.decode()
    listing = manager.get(f"/admin/loyalty/vouchercode/?promotion__id__exact={promotion.pk}")
    assert listing.context["cl"].result_count == 101


def test_codes_are_generated_from_the_action_through_their_page(manager):
    promotion = campaign()

    chosen = manager.post(URL, {"action": "generate_codes", "_selected_action": [promotion.pk]})
    page = manager.get(chosen["Location"])
    done = manager.post(
        chosen["Location"], {"count": "25", "prefix": "noel", "length": "8", "max_uses": "1"}
    )

    assert chosen.status_code == 302
    assert chosen["Location"].endswith(f"/{promotion.pk}/codes/generate/")
    assert page.status_code == 200
    assert done.status_code == 302
    codes = list(promotion.codes.all())
    assert len(codes) == 25
    assert all(c.code.startswith("NOEL") and len(c.code) == 12 and c.max_uses == 1 for c in codes)


def test_generating_codes_asked_wrongly_answers_the_form_with_the_reason(manager):
    automatic = campaign(requires_code=False)
    promotion = campaign()

    too_few = manager.post(f"{URL}{promotion.pk}/codes/generate/", {"count": "0", "length": "10"})
    not_a_campaign = manager.post(
        f"{URL}{automatic.pk}/codes/generate/", {"count": "5", "length": "10"}
    )
    two = manager.post(
        URL,
        {"action": "generate_codes", "_selected_action": [promotion.pk, automatic.pk]},
        follow=True,
    )

    assert too_few.status_code == 200
    assert "count" in too_few.context["form"].errors
    assert not_a_campaign.status_code == 200
    assert "is not a voucher campaign" in " ".join(
        not_a_campaign.context["form"].non_field_errors()
    )
    assert "Choose one campaign" in two.content.decode()
    assert VoucherCode.objects.count() == 0


def test_codes_are_exported_as_csv(manager):
    first, second = campaign(name="First"), campaign(name="Second")
    code(first, "AAAA2345", max_uses=2)
    code(second, "BBBB2345", is_active=False)
    code(campaign(name="Not chosen"), "CCCC2345")

    response = manager.post(
        URL, {"action": "export_codes", "_selected_action": [first.pk, second.pk]}
    )

    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["code", "max uses", "used", "active", "campaign"],
        ["AAAA2345", "2", "0", "yes", "First"],
        ["BBBB2345", "", "0", "no", "Second"],
    ]


def test_the_preview_of_a_line_promotion_shows_targeted_variants_before_and_after(manager):
    shoes = Category.objects.create(name="Shoes", slug="shoes")
    boots = Category.objects.create(name="Boots", slug="boots", parent=shoes)
    boot = VariantFactory(
        product=ProductFactory(name="Boot", category=boots), price_amount=Decimal("80.00")
    )
    VariantFactory(product=ProductFactory(name="Hat"), price_amount=Decimal("20.00"))
    VariantFactory(product=ProductFactory(name="Card", gift_card="multi", category=boots))
    promotion = campaign(stage="line", value=Decimal("25"), requires_code=False)
    promotion.categories.set([shoes])

    page = manager.get(f"{URL}{promotion.pk}/preview/")

    assert page.status_code == 200
    preview = page.context["preview"]
    assert preview.targeted == 1
    assert "It targets 1 variant;" in page.content.decode()
    [row] = preview.rows
    assert (row.variant, row.before, row.after, row.discount) == (
        boot,
        Decimal("80.00"),
        Decimal("60.00"),
        Decimal("20.00"),
    )


def test_the_preview_of_buy_two_get_one_prices_three_units(manager):
    VariantFactory(price_amount=Decimal("10.00"))
    promotion = campaign(
        stage="line", reward="bxgy", value=Decimal("100"), buy_quantity=2, get_quantity=1
    )

    [row] = manager.get(f"{URL}{promotion.pk}/preview/").context["preview"].rows

    assert (row.quantity, row.before, row.after) == (3, Decimal("30.00"), Decimal("20.00"))


def test_the_preview_of_an_order_promotion_is_a_basket_at_its_threshold(manager):
    VariantFactory(product=ProductFactory(name="Scarf"), price_amount=Decimal("15.00"))
    gift = VariantFactory(product=ProductFactory(name="Tote bag"), price_amount=Decimal("8.00"))
    promotion = campaign(
        stage="order", reward="free_item", free_variant=gift, min_subtotal=Decimal("40")
    )

    page = manager.get(f"{URL}{promotion.pk}/preview/")

    example = page.context["example"]
    assert [(line.label.split(" (")[0], line.quantity, line.after) for line in example.lines] == [
        ("Scarf", 3, Decimal("45.00")),
        ("Tote bag", 1, Decimal("0.00")),
    ]
    assert example.pricing.total == Decimal("45.00")
    assert example.reason == ""
    assert "A basket that reaches €40.00" in page.content.decode()
    assert "VAT 20.0 %" in page.content.decode()


def test_the_preview_of_an_order_voucher_without_a_minimum_uses_100(manager):
    promotion = campaign(stage="order", reward="amount", value=Decimal("15"))

    example = manager.get(f"{URL}{promotion.pk}/preview/").context["example"]

    assert (example.threshold, example.pricing.subtotal, example.pricing.total) == (
        Decimal("100.00"),
        Decimal("100.00"),
        Decimal("85.00"),
    )


def test_the_preview_of_a_rule_written_around_the_form_says_so_instead_of_failing(manager):
    promotion = campaign(stage="catalogue", reward="bxgy", buy_quantity=1, get_quantity=1)

    response = manager.get(f"{URL}{promotion.pk}/preview/", follow=True)

    assert response.redirect_chain[-1][0] == f"{URL}{promotion.pk}/change/"
    assert "cannot be applied" in response.content.decode()


# --- who may do what -----------------------------------------------------------------------


def staff(client, *permissions):
    client.force_login(UserFactory(is_staff=True, permissions=list(permissions)))
    return client


def test_staff_without_promotion_permissions_get_nothing(client):
    promotion = campaign()
    staff(client)

    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{promotion.pk}/preview/").status_code == 403
    assert client.get(f"{URL}{promotion.pk}/codes/generate/").status_code == 403


def test_viewing_promotions_gives_the_preview_but_not_generation_nor_export(client):
    promotion = campaign()
    staff(client, "loyalty.view_promotion")

    assert client.get(f"{URL}{promotion.pk}/preview/").status_code == 200
    assert client.get(f"{URL}{promotion.pk}/codes/generate/").status_code == 403
    assert client.get(URL).context["action_form"] is None  # no action offered at all
    exported = client.post(URL, {"action": "export_codes", "_selected_action": [promotion.pk]})
    assert exported.get("Content-Type") != "text/csv"


def test_generation_takes_changing_promotions_and_adding_codes(client):
    promotion = campaign()
    staff(client, "loyalty.view_promotion", "loyalty.change_promotion", "loyalty.add_vouchercode")

    response = client.post(f"{URL}{promotion.pk}/codes/generate/", {"count": "3", "length": "10"})

    assert response.status_code == 302
    assert promotion.codes.count() == 3


def test_voucher_uses_are_read_only(manager):
    voucher = code(campaign())
    [use] = vouchers_use(uses=[(voucher, Decimal("5"))], customer=None, reference="UC1")

    assert manager.get("/admin/loyalty/voucherredemption/").context["cl"].result_count == 1
    assert manager.get("/admin/loyalty/voucherredemption/add/").status_code == 403
    assert (
        manager.post(
            f"/admin/loyalty/voucherredemption/{use.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert VoucherRedemption.objects.count() == 1
