"""Issue 12: "Livré à domicil" — the till's way-to-get-it choice was cut off: the select
took the width of the cart's item column, narrower than "Livré à domicile" on a tablet.
The sale screen's layout gives it room now; this checks the chosen label fits its box in
French, the longer language, at 1024×768 and 1366×768."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# The selected option's text, measured in the select's own font, plus its paddings and
# the arrow, against the select's inner width.
LABEL_FITS = """(select) => {
  const style = getComputedStyle(select);
  const context = document.createElement('canvas').getContext('2d');
  context.font = style.font;
  const text = select.selectedOptions[0].text;
  const needed = context.measureText(text).width + parseFloat(style.paddingLeft)
    + parseFloat(style.paddingRight) + 16;
  return {text, needed: Math.ceil(needed), width: select.clientWidth};
}"""


@pytest.mark.parametrize("width", [1024, 1366])
def test_ship_home_is_never_cut_off_in_french(
    live_server, page, screenshot, shop, stocked_variant, width
):
    tee = stocked_variant(
        store=5,
        warehouse=5,
        sku="TEE-NAVY-M",
        price_amount=Decimal("19.90"),
        product=ProductFactory(name="T-shirt Essential à manches longues, coton biologique"),
    )
    page.set_viewport_size({"width": width, "height": 768})
    page.goto(f"{live_server.url}/pos/")
    page.locator("input[name=username]").fill("seller")
    page.locator("input[name=password]").fill("secret-pass")
    page.keyboard.press("Enter")
    page.locator("button[name=register]").first.click()
    page.locator('form.lang button[value="fr"]').click()  # the topbar's switch
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    # htmx wires the swapped-in row's forms when the swap settles (20 ms after it shows):
    # a change made before that would go nowhere, so wait for the scan's swap to settle.
    page.evaluate(
        "window.settled = 0;"
        "document.body.addEventListener('htmx:afterSettle', () => { window.settled += 1; })"
    )
    page.locator("#scan").fill(tee.barcode)
    page.keyboard.press("Enter")
    row = page.locator(f'tr[data-sku="{tee.sku}"]')
    expect(row).to_be_visible()
    page.wait_for_function("window.settled > 0")

    row.locator("select[name=fulfilment]").select_option(value="ship")
    select = page.locator(f'tr[data-sku="{tee.sku}"] select[name=fulfilment]')
    expect(select).to_have_attribute("data-fulfilment", "ship")

    fit = select.evaluate(LABEL_FITS)
    screenshot(f"pos-ship-home-fr-{width}")
    assert fit["text"] == "Livré à domicile"
    assert fit["needed"] <= fit["width"], fit
