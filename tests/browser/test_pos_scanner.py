"""Issue 12, in a real browser: the till never loses a scan and never steals a keystroke.

A scanner types 13 digits and Enter in a few milliseconds, faster than any round trip;
the seller may press F3 and type a phone while the answer to a scan is still on its way.
Latency is Chromium's own network emulation (CDP), so requests overlap as on a slow shop
Wi-Fi."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import expect

from orders.models import Cart
from tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

SCANNER_DELAY_MS = 5  # between two keys of a scanner
QUEUE = "#scan-queue"


@pytest.fixture
def tee(stocked_variant):
    return stocked_variant(
        store=20,
        sku="TEE-NAVY-M",
        price_amount=Decimal("19.90"),
        product=ProductFactory(name="Organic tee"),
    )


@pytest.fixture
def scarf(stocked_variant):
    return stocked_variant(
        store=20,
        sku="SCARF-RED",
        price_amount=Decimal("29.00"),
        product=ProductFactory(name="Wool scarf"),
        attributes={"colour": "Red"},
    )


@pytest.fixture
def till(live_server, page, shop):
    """Till 1, logged in, with every scan the page posts and every search it asks for
    written down."""
    page.goto(f"{live_server.url}/pos/")
    page.get_by_label("Username").fill("seller")
    page.get_by_label("Password").fill("secret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Till 1").click()
    expect(page.locator("#scan")).to_be_focused()
    page.posted = []
    page.searched = []

    def record(request) -> None:
        if "/pos/sell/" not in request.url:
            return
        if request.method == "POST":
            form = parse_qs(request.post_data or "", keep_blank_values=True)
            if form.get("action") == ["scan"]:
                page.posted.append(form.get("code", [""])[0])
        elif "code=" in request.url:
            page.searched.append(request.url)

    page.on("request", record)
    # Every message the sale ever shows, not only the last one.
    page.evaluate(
        """() => {
          window.__messages = [];
          new MutationObserver(() => {
            const box = document.getElementById("pos-message");
            const text = box ? box.textContent.trim() : "";
            if (text && window.__messages[window.__messages.length - 1] !== text) {
              window.__messages.push(text);
            }
          }).observe(document.body, {childList: true, subtree: true});
        }"""
    )
    return page


def latency(page, milliseconds: int) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": milliseconds,
            "downloadThroughput": -1,
            "uploadThroughput": -1,
        },
    )


def scanner(page, code: str) -> None:
    page.keyboard.type(code + "\n", delay=SCANNER_DELAY_MS)


def expect_cart(page, rows: list[tuple[str, str]]) -> None:
    """The cart's lines, in order, with their quantities."""
    lines = page.locator("table.cart tbody tr[data-sku]")
    expect(lines).to_have_count(len(rows))
    for index, (sku, quantity) in enumerate(rows):
        expect(lines.nth(index)).to_have_attribute("data-sku", sku)
        expect(lines.nth(index).locator(".n")).to_have_text(quantity)


def cart_in_database(page) -> list[tuple[str, int]]:
    cart = Cart.objects.exclude(lines=None).get()
    return list(cart.lines.order_by("id").values_list("variant__sku", "quantity"))


def test_three_scans_back_to_back_are_all_counted_in_order(till, tee, scarf, screenshot):
    page = till
    for code in (tee.barcode, tee.barcode, scarf.barcode):
        scanner(page, code)

    expect_cart(page, [("TEE-NAVY-M", "2"), ("SCARF-RED", "1")])
    expect(page.locator(QUEUE)).to_be_hidden()
    expect(page.locator("#scan")).to_have_value("")
    expect(page.locator("#scan")).to_be_focused()
    assert page.posted == [tee.barcode, tee.barcode, scarf.barcode]
    assert page.searched == []
    assert cart_in_database(page) == [("TEE-NAVY-M", 2), ("SCARF-RED", 1)]
    screenshot("scanner-1-three-scans")


def test_with_400_ms_of_latency_scans_300_ms_apart_are_queued_not_lost(till, tee, scarf):
    page = till
    latency(page, 400)
    for code in (tee.barcode, scarf.barcode, tee.barcode):
        scanner(page, code)
        page.wait_for_timeout(300)  # the seller picks up the next item

    # The answers are slower than the scans: the till says what it still has to send.
    expect(page.locator(QUEUE)).to_contain_text("waiting")
    expect_cart(page, [("TEE-NAVY-M", "2"), ("SCARF-RED", "1")])
    expect(page.locator(QUEUE)).to_be_hidden()
    expect(page.locator("#scan")).to_have_value("")
    assert page.posted == [tee.barcode, scarf.barcode, tee.barcode]
    assert page.searched == []
    messages = page.evaluate("window.__messages")
    assert messages, "the sale showed no message at all"
    assert not [text for text in messages if "Several products match" in text]
    assert cart_in_database(page) == [("TEE-NAVY-M", 2), ("SCARF-RED", 1)]


def test_a_phone_typed_after_f3_while_a_scan_is_on_its_way_keeps_every_digit(till, tee):
    page = till
    latency(page, 400)
    scanner(page, tee.barcode)
    page.keyboard.press("F3")
    page.keyboard.type("0612345678", delay=80)  # the scan's answer lands mid-number

    expect_cart(page, [("TEE-NAVY-M", "1")])
    expect(page.locator("#find")).to_have_value("0612345678")
    expect(page.locator("#find")).to_be_focused()
    expect(page.locator("#scan")).to_have_value("")
    assert page.posted == [tee.barcode]


def test_the_identify_phone_keeps_what_is_typed_when_a_scan_redraws_the_sale(till, tee):
    page = till
    latency(page, 400)
    scanner(page, tee.barcode)
    opener = page.locator("details:has(#identify-phone) > summary")
    if opener.count():  # the form sits in a section the seller opens
        opener.click()
    page.locator("#identify-phone").click()
    page.keyboard.type("0781223344", delay=80)

    expect_cart(page, [("TEE-NAVY-M", "1")])
    expect(page.locator("#identify-phone")).to_have_value("0781223344")
    expect(page.locator("#identify-phone")).to_be_focused()
    expect(page.locator("#scan")).to_have_value("")
    page.keyboard.press("Enter")
    expect(page.locator("#pos-message")).to_contain_text("Cart now belongs to 07 81 22 33 44.")


def test_the_cash_typed_while_a_scan_lands_is_kept_and_the_change_follows(till, tee, scarf):
    page = till
    scanner(page, tee.barcode)
    expect_cart(page, [("TEE-NAVY-M", "1")])
    latency(page, 400)
    scanner(page, scarf.barcode)
    page.keyboard.press("F2")
    page.keyboard.type("100", delay=150)

    expect_cart(page, [("TEE-NAVY-M", "1"), ("SCARF-RED", "1")])
    expect(page.locator("#tendered")).to_have_value("100")
    expect(page.locator("#tendered")).to_be_focused()
    expect(page.locator("#change")).to_contain_text("€51.10")  # 100 − 19.90 − 29.00


def test_a_scan_whose_request_fails_is_kept_and_sent_again(till, tee, scarf, screenshot):
    """No network, then a server error, then an answer lost after the server counted the
    scan: each scan is counted once, in order, and the seller is told meanwhile."""
    page = till
    failures = {"network": 1, "server": 1, "lost": 1}

    def flaky(route) -> None:
        request = route.request
        if request.method != "POST" or "action=scan" not in (request.post_data or ""):
            route.continue_()
            return
        code = parse_qs(request.post_data)["code"][0]
        if code == tee.barcode and failures["network"]:
            failures["network"] -= 1
            route.abort("internetdisconnected")
        elif code == tee.barcode and failures["server"]:
            failures["server"] -= 1
            route.fulfill(status=500, body="Server Error")
        elif code == scarf.barcode and failures["lost"]:
            failures["lost"] -= 1
            route.fetch()  # the server adds the scarf; its answer never reaches the till
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/pos/sell/", flaky)
    scanner(page, tee.barcode)
    scanner(page, scarf.barcode)

    expect(page.locator(QUEUE)).to_contain_text("No answer from the server")
    expect(page.locator(QUEUE)).to_contain_text("2 scans waiting")
    screenshot("scanner-3-retrying")
    expect_cart(page, [("TEE-NAVY-M", "1"), ("SCARF-RED", "1")])
    expect(page.locator(QUEUE)).to_be_hidden()
    assert failures == {"network": 0, "server": 0, "lost": 0}
    assert page.posted == [tee.barcode] * 3 + [scarf.barcode] * 2
    assert cart_in_database(page) == [("TEE-NAVY-M", 1), ("SCARF-RED", 1)]


def test_scans_waiting_when_the_server_reloads_the_page_are_sent_after_it(
    till, tee, scarf, screenshot
):
    """The server may answer a scan with "reload" (HX-Refresh: the till's register or
    session changed): the scans not yet counted survive the reload and go first."""
    page = till
    held = []

    def hold_the_first_scan(route) -> None:
        if not held and "action=scan" in (route.request.post_data or ""):
            held.append(route)  # answered below, once both scans are typed
        else:
            route.continue_()

    page.route("**/pos/sell/", hold_the_first_scan)
    page.evaluate("window.__beforeReload = true")
    scanner(page, tee.barcode)
    scanner(page, scarf.barcode)
    expect(page.locator(QUEUE)).to_contain_text("2 scans waiting")
    page.wait_for_timeout(500)  # the indicator's fade-in, for the picture only
    screenshot("scanner-2-queue-waiting")
    assert len(held) == 1
    held[0].fulfill(status=200, headers={"HX-Refresh": "true"}, body="")

    expect_cart(page, [("TEE-NAVY-M", "1"), ("SCARF-RED", "1")])
    assert page.evaluate("window.__beforeReload === undefined")  # it did reload
    expect(page.locator(QUEUE)).to_be_hidden()
    assert page.posted == [tee.barcode, tee.barcode, scarf.barcode]
    assert cart_in_database(page) == [("TEE-NAVY-M", 1), ("SCARF-RED", 1)]


def test_a_person_typing_a_name_still_gets_the_matches(till, tee, scarf):
    page = till
    page.locator("#scan").press_sequentially("wool", delay=90)

    expect(page.locator(f'#results [data-sku="{scarf.sku}"]').first).to_be_visible()
    assert page.posted == []
    # Emptied by hand: the matches go, and nothing is searched for "".
    page.locator("#scan").press("Control+a")
    page.locator("#scan").press("Backspace")
    expect(page.locator("#results .result")).to_have_count(0)
    assert all("code=&" not in url and not url.endswith("code=") for url in page.searched)


def test_a_scan_right_after_tapping_a_search_match_is_counted(till, tee, scarf):
    # Found "wool" by hand and tapped the scarf: the next scans must not land behind the
    # words of that search (they did: "wool2000…" was posted as one code, a scan lost).
    page = till
    page.locator("#scan").press_sequentially("wool", delay=90)
    page.locator(f'#results .result-button[data-sku="{scarf.sku}"]').click()
    expect(page.locator("#scan")).to_have_value("")
    expect_cart(page, [("SCARF-RED", "1")])
    expect(page.locator("#scan")).to_be_focused()

    scanner(page, tee.barcode)
    scanner(page, tee.barcode)

    expect_cart(page, [("SCARF-RED", "1"), ("TEE-NAVY-M", "2")])
    assert page.posted == [tee.barcode, tee.barcode]
    assert cart_in_database(page) == [("SCARF-RED", 1), ("TEE-NAVY-M", 2)]


def test_an_empty_enter_posts_nothing_and_an_unknown_code_is_answered(till, tee):
    page = till
    page.keyboard.press("Enter")
    scanner(page, "4006381333931")

    expect(page.locator("#pos-message .error")).to_contain_text("No product has the barcode")
    expect(page.locator(QUEUE)).to_be_hidden()
    assert page.posted == ["4006381333931"]
    # The Add button goes through the same queue as Enter.
    page.locator("#scan").fill(tee.sku)
    page.locator("#scan-form").get_by_role("button", name="Add").click()
    expect_cart(page, [("TEE-NAVY-M", "1")])
    expect(page.locator("#scan")).to_have_value("")
    expect(page.locator("#scan")).to_be_focused()
    assert page.posted == ["4006381333931", tee.sku]
