"""Register sessions and cash (issue 15): opening with a count, cash moves, closing per
tender with the Z report, and what each refuses (nothing changed)."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from orders.models import Order
from orders.services.carts import cart_create, cart_line_add
from orders.services.returns import return_create
from payments.gateways import simulated
from payments.selectors import order_outstanding_amount
from payments.services.start import payment_start
from pos import sessions as pos_sessions
from pos.exceptions import (
    ApprovalRequired,
    ApproverNotAllowed,
    CashMoveAlreadyReversed,
    CashMoveClientIdReused,
    CashMoveInvalid,
    CashMoveReasonMissing,
    CountInvalid,
    RegisterInactive,
    SessionAlreadyOpen,
    SessionNotOpen,
    SessionTransitionInvalid,
)
from pos.models import CashMove, RegisterSession, SessionCount, ZReport
from pos.services import sale_complete, sale_pay_card, till_return_settle
from pos.session_figures import session_expected
from pos.sessions import (
    cash_move_add,
    cash_move_reverse,
    session_close,
    session_close_start,
    session_current,
    session_open,
    session_start,
    session_too_old,
)
from tests.factories import ProductFactory, RegisterFactory, UserFactory
from tests.orders.test_checkout_concurrency import run_concurrently
from tests.pos.conftest import web_order_delivered

pytestmark = [pytest.mark.django_db, pytest.mark.register_closed]
D = Decimal
S = RegisterSession.Status


@pytest.fixture
def manager(shop):
    return UserFactory(username="manager", role="store_manager")


@pytest.fixture
def opened(shop):
    return session_open(register=shop.register, user=shop.seller, counted="150.00")


def move(session, user, amount, client_id, *, kind="correction", approver=None, reason="Till"):
    return cash_move_add(
        session=session,
        kind=kind,
        amount=amount,
        reason=reason,
        client_id=client_id,
        user=user,
        approver=approver,
    )


def closed(session, user, cash, **kwargs):
    session_close_start(session=session, user=user)
    return session_close(session=session, counts={"cash": cash}, user=user, **kwargs)


def cash_sale(shop, variant, quantity=1, tendered="100"):
    cart = cart_create(channel=shop.store_channel)
    cart_line_add(cart=cart, variant=variant, quantity=quantity, channel=shop.store_channel)
    return sale_complete(
        register=shop.register,
        cart=cart,
        payment_method="cash",
        seller=shop.seller,
        tendered=D(tendered),
    ).order


def card_sale(shop, variant, key, quantity=1):
    cart = cart_create(channel=shop.store_channel)
    cart_line_add(cart=cart, variant=variant, quantity=quantity, channel=shop.store_channel)
    return sale_pay_card(
        register=shop.register, cart=cart, seller=shop.seller, idempotency_key=key
    ).order


# --- Opening -------------------------------------------------------------------------


def test_opening_records_the_count_and_its_denominations(shop):
    session = session_open(
        register=shop.register,
        user=shop.seller,
        counted=None,
        denominations={"50": 2, "20.00": "2", "0.5": 3},
    )

    session.refresh_from_db()
    assert session.status == S.OPEN
    assert session.opening_counted_amount == D("141.50")
    assert session.opening_denominations == {"50.00": 2, "20.00": 2, "0.50": 3}
    assert session.opened_by == shop.seller
    assert session.opened_at is not None
    assert (session.previous_closing_amount, session.opening_difference_amount) == (None, None)
    assert session_current(shop.register) == session


def test_the_difference_to_the_previous_counted_closing_is_recorded_on_its_own(shop, opened):
    closed(opened, shop.seller, "150.00")

    second = session_open(register=shop.register, user=shop.seller, counted="142,50")

    assert second.previous_closing_amount == D("150.00")
    assert second.opening_difference_amount == D("-7.50")
    assert second.opening_counted_amount == D("142.50")


def test_a_register_in_opening_control_opens_that_same_session(shop):
    started = session_start(register=shop.register, user=shop.seller)
    assert started.status == S.OPENING_CONTROL
    assert session_start(register=shop.register, user=shop.seller) == started

    session = session_open(register=shop.register, user=shop.seller, counted="80")

    assert session.pk == started.pk
    assert session.status == S.OPEN
    assert RegisterSession.objects.count() == 1


def test_opening_a_register_whose_session_is_not_closed_is_refused(shop, opened):
    with pytest.raises(SessionAlreadyOpen) as refused:
        session_open(register=shop.register, user=shop.seller, counted="10")
    with pytest.raises(SessionAlreadyOpen):
        session_start(register=shop.register, user=shop.seller)
    session_close_start(session=opened, user=shop.seller)
    with pytest.raises(SessionAlreadyOpen):
        session_open(register=shop.register, user=shop.seller, counted="10")

    assert refused.value.code == "session_already_open"
    assert RegisterSession.objects.count() == 1
    other = RegisterFactory(location=shop.store, channel=shop.store_channel)
    assert session_open(register=other, user=shop.seller, counted="0").status == S.OPEN


def test_no_session_opens_on_a_register_out_of_service(shop):
    shop.register.is_active = False
    shop.register.save()

    with pytest.raises(RegisterInactive):
        session_start(register=shop.register, user=shop.seller)
    with pytest.raises(RegisterInactive):
        session_open(register=shop.register, user=shop.seller, counted="10")
    assert RegisterSession.objects.count() == 0


@pytest.mark.parametrize(
    ("counted", "denominations", "field"),
    [
        ("12abc", None, "counted"),
        ("-5", None, "counted"),
        (12.5, None, "counted"),
        ("10.001", None, "counted"),
        (None, {"50": -1}, "denominations.50"),
        (None, {"50": "two"}, "denominations.50"),
        (None, {"-20": 1}, "denominations.-20"),
        (None, {"abc": 1}, "denominations.abc"),
        ("99", {"50": 2}, "counted"),
    ],
)
def test_a_bad_opening_count_is_refused_and_nothing_is_opened(shop, counted, denominations, field):
    with pytest.raises(CountInvalid) as refused:
        session_open(
            register=shop.register, user=shop.seller, counted=counted, denominations=denominations
        )

    assert refused.value.details["field"] == field
    assert RegisterSession.objects.count() == 0


# --- Cash moves ----------------------------------------------------------------------


def test_a_cash_move_is_recorded_once_per_client_id(shop, opened):
    first = move(opened, shop.seller, "-40", "drop-1", kind="bank_drop")
    again = move(opened, shop.seller, "-40.00", "drop-1", kind="bank_drop")

    assert again.pk == first.pk
    assert (first.amount, first.kind, first.created_by) == (D("-40.00"), "bank_drop", shop.seller)
    with pytest.raises(CashMoveClientIdReused):
        move(opened, shop.seller, "-30", "drop-1", kind="bank_drop")
    assert CashMove.objects.count() == 1
    assert session_expected(opened) == {"cash": D("110.00")}


@pytest.mark.parametrize(
    ("kind", "amount", "reason", "error"),
    [
        ("expense", "-12", "  ", CashMoveReasonMissing),
        ("expense", "12", "Coffee", CashMoveInvalid),  # an expense takes cash out
        ("bank_drop", "0", "Drop", CashMoveInvalid),
        ("float", "1O", "Float", CashMoveInvalid),
        ("tip", "5", "Tip", CashMoveInvalid),
    ],
)
def test_a_bad_cash_move_is_refused_and_nothing_moves(shop, opened, kind, amount, reason, error):
    with pytest.raises(error):
        move(opened, shop.seller, amount, "m-1", kind=kind, reason=reason)

    assert CashMove.objects.count() == 0


def test_a_cash_move_above_the_threshold_needs_a_manager(shop, opened, manager, settings):
    settings.POS_CASH_MOVE_APPROVAL_ABOVE = "100.00"
    move(opened, shop.seller, "-100", "m-0", kind="bank_drop")  # at the limit: no approval

    with pytest.raises(ApprovalRequired) as refused:
        move(opened, shop.seller, "-100.01", "m-1", kind="bank_drop")
    with pytest.raises(ApproverNotAllowed):
        move(opened, shop.seller, "-250", "m-1", kind="bank_drop", approver=shop.seller)
    assert refused.value.details == {"reason": "cash_move", "limit": "100.00", "amount": "-100.01"}
    assert CashMove.objects.count() == 1

    approved = move(opened, shop.seller, "-250", "m-1", kind="bank_drop", approver=manager)
    assert approved.approved_by == manager
    assert CashMove.objects.get(client_id="m-0").approved_by is None


def test_a_cash_move_is_reversed_by_a_new_move_never_changed(shop, opened):
    original = move(opened, shop.seller, "-30", "exp-1", kind="expense", reason="Stamps")

    reversal = cash_move_reverse(
        move=original, reason="Typed twice", client_id="rev-1", user=shop.seller
    )

    assert (reversal.amount, reversal.kind, reversal.reverses) == (D("30.00"), "expense", original)
    assert (
        cash_move_reverse(move=original, reason="Typed twice", client_id="rev-1", user=shop.seller)
        == reversal
    )
    with pytest.raises(CashMoveAlreadyReversed):
        cash_move_reverse(move=original, reason="Again", client_id="rev-2", user=shop.seller)
    with pytest.raises(CashMoveInvalid):
        cash_move_reverse(move=reversal, reason="Undo", client_id="rev-3", user=shop.seller)
    original.refresh_from_db()
    assert original.amount == D("-30.00")
    assert original.reason == "Stamps"
    assert CashMove.objects.count() == 2
    assert session_expected(opened)["cash"] == D("150.00")


def test_the_database_refuses_to_change_or_delete_a_cash_move(shop, opened):
    recorded = move(opened, shop.seller, "5", "c-1")

    for statement in ("UPDATE pos_cashmove SET amount = 500", "DELETE FROM pos_cashmove"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    with pytest.raises(DatabaseError), transaction.atomic():
        recorded.delete()

    assert CashMove.objects.get().amount == D("5.00")


def test_no_cash_moves_outside_an_open_session(shop, opened):
    session_close_start(session=opened, user=shop.seller)

    with pytest.raises(SessionNotOpen):
        move(opened, shop.seller, "5", "late-1")
    assert CashMove.objects.count() == 0


# --- Transitions ---------------------------------------------------------------------


def test_a_session_never_goes_back_and_closing_twice_is_refused(shop, opened):
    with pytest.raises(SessionTransitionInvalid):
        session_close(session=opened, counts={"cash": "150"}, user=shop.seller)
    closed(opened, shop.seller, "150")

    with pytest.raises(SessionTransitionInvalid) as refused:
        session_close(session=opened, counts={"cash": "1"}, user=shop.seller)
    with pytest.raises(SessionTransitionInvalid):
        session_close_start(session=opened, user=shop.seller)

    assert refused.value.details["from_status"] == "closed"
    opened.refresh_from_db()
    assert opened.status == S.CLOSED
    assert ZReport.objects.count() == 1
    assert SessionCount.objects.get().counted_amount == D("150.00")


def test_the_database_allows_known_statuses_and_one_session_not_closed(shop, opened):
    with pytest.raises(DatabaseError), transaction.atomic():
        RegisterSession.objects.filter(pk=opened.pk).update(status="reopened")
    with pytest.raises(DatabaseError), transaction.atomic():
        RegisterSession.objects.create(
            register=shop.register, status=S.OPENING_CONTROL, currency="EUR", started_by=shop.seller
        )

    assert RegisterSession.objects.get().status == S.OPEN


def test_a_session_too_old_is_told(shop, opened, settings):
    settings.POS_SESSION_MAX_HOURS = 12
    now = opened.opened_at

    assert not session_too_old(opened, now=now + timedelta(hours=12))
    assert session_too_old(opened, now=now + timedelta(hours=12, seconds=1))
    done = closed(opened, shop.seller, "150")
    assert not session_too_old(done, now=timezone.now() + timedelta(days=3))
    assert session_current(shop.register) is None


# --- Closing -------------------------------------------------------------------------


def test_a_closing_within_the_tolerance_needs_no_manager(shop, opened):
    move(opened, shop.seller, "-20", "drop-1", kind="bank_drop")

    done = closed(opened, shop.seller, "125.00", blind=True)  # expected 130.00

    assert done.status == S.CLOSED
    assert done.closed_by == shop.seller
    assert done.closing_approved_by is None
    count = SessionCount.objects.get(session=done)
    assert (count.tender, count.expected_amount, count.counted_amount) == (
        "cash",
        D("130"),
        D("125"),
    )
    assert count.difference_amount == D("-5.00")
    assert count.blind is True
    assert count.approved_by is None


def test_a_difference_above_the_tolerance_needs_a_manager_and_a_comment(
    shop, opened, manager, settings
):
    settings.POS_CLOSING_TOLERANCE_PER_REGISTER = {"paris-1": "2.00"}
    session_close_start(session=opened, user=shop.seller)

    def close(**kwargs):
        return session_close(session=opened, counts={"cash": "147.99"}, user=shop.seller, **kwargs)

    with pytest.raises(ApprovalRequired) as refused:
        close()
    with pytest.raises(ApproverNotAllowed):
        close(approver=shop.seller, comment="Short")
    with pytest.raises(ApprovalRequired):
        close(approver=manager, comment="  ")
    assert refused.value.details == {
        "reason": "closing_difference",
        "limit": "2.00",
        "amount": "2.01",
    }
    opened.refresh_from_db()
    assert opened.status == S.CLOSING_CONTROL
    assert (SessionCount.objects.count(), ZReport.objects.count()) == (0, 0)

    done = close(approver=manager, comment="A customer was given too much change")

    assert (done.status, done.closing_approved_by) == (S.CLOSED, manager)
    count = SessionCount.objects.get()
    assert (count.difference_amount, count.approved_by) == (D("-2.01"), manager)
    assert count.comment == "A customer was given too much change"


@pytest.mark.parametrize(
    "counts",
    [{"cash": "1OO"}, {"cash": "-1"}, {"card_terminal": "10"}, {"cash": "1", "cheque": "5"}],
)
def test_a_bad_closing_count_is_refused_and_the_session_stays_in_closing(shop, opened, counts):
    session_close_start(session=opened, user=shop.seller)

    with pytest.raises(CountInvalid):
        session_close(session=opened, counts=counts, user=shop.seller)

    opened.refresh_from_db()
    assert opened.status == S.CLOSING_CONTROL
    assert (SessionCount.objects.count(), ZReport.objects.count()) == (0, 0)


@pytest.fixture
def book(stocked_variant):
    """A book at the reduced VAT rate (5.5 %), beside the tee at 20 %."""
    return stocked_variant(
        store=5, sku="BOOK-1", price_amount=D("12.00"), product=ProductFactory(vat_rate=D("5.5"))
    )


def test_the_z_report_equals_the_sum_of_the_sessions_sales(shop, opened, tee, scarf, book):
    cash_sale(shop, tee, quantity=2)  # 39.80
    cash_sale(shop, book, tendered="20")  # 12.00
    card_sale(shop, scarf, "card-key-0001")  # 29.00
    card_sale(shop, book, "card-key-0002", quantity=2)  # 24.00
    move(opened, shop.seller, "-50", "drop-1", kind="bank_drop")
    orders = Order.objects.filter(channel=shop.store_channel)
    sales = sum(order.total_amount for order in orders)
    assert sales == D("104.80")

    assert session_expected(opened) == {"cash": D("151.80"), "card_terminal": D("53.00")}
    session_close_start(session=opened, user=shop.seller)
    done = session_close(
        session=opened, counts={"cash": "151.80", "card_terminal": "53.00"}, user=shop.seller
    )

    z = ZReport.objects.get(session=done).payload
    assert z["tickets"] == 4
    assert D(z["sales_total"]) == sales
    assert z["tenders"] == {"card_terminal": "53.00", "cash": "51.80"}
    assert sum(D(amount) for amount in z["tenders"].values()) == sales
    assert [row["rate"] for row in z["vat"]] == ["5.5", "20.0"]
    assert sum(D(row["gross"]) for row in z["vat"]) == sales
    assert z["vat"][0]["gross"] == "36.00"
    for row in z["vat"]:
        assert D(row["net"]) + D(row["vat"]) == D(row["gross"])
    assert z["cash_moves"] == {"bank_drop": "-50.00"}
    assert z["counts"]["cash"] == {"expected": "151.80", "counted": "151.80", "difference": "0.00"}
    assert (z["refunds"]["count"], z["voids"]) == (0, 0)


def test_cash_refunded_at_the_till_leaves_the_drawer(shop, opened, tee):
    order = cash_sale(shop, tee, quantity=2)  # 39.80 in cash
    ret = return_create(
        order=order,
        channel=shop.store_channel,
        lines=[{"order_line": order.lines.get(), "quantity": 1, "reason": "damaged"}],
        receiving_location=shop.store,
        outcome="refund",
        user=shop.seller,
    )
    till_return_settle(
        ret=ret,
        register=shop.register,
        seller=shop.seller,
        method="cash",
        idempotency_key="ret-0001",
    )

    assert session_expected(opened) == {"cash": D("169.90")}  # 150 + 39.80 - 19.90
    done = closed(opened, shop.seller, "169.90")
    z = ZReport.objects.get(session=done).payload
    assert z["refunds"] == {"count": 1, "total": "19.90", "per_tender": {"cash": "19.90"}}


def refund_in_cash(order, *, channel, location, register, seller, key, quantity=1):
    ret = return_create(
        order=order,
        channel=channel,
        lines=[{"order_line": order.lines.get(), "quantity": quantity, "reason": "damaged"}],
        receiving_location=location,
        outcome="refund",
        user=seller,
    )
    till_return_settle(
        ret=ret, register=register, seller=seller, method="cash", idempotency_key=key
    )


def test_a_refund_counts_in_the_drawer_of_the_store_where_the_return_was_recorded(
    shop, opened, tee, camille, lyon
):
    simulated.reset()
    web_order = web_order_delivered(shop=shop, customer=camille, variant=tee, quantity=2)
    payment_start(
        order=web_order,
        method="card_online",
        amount=order_outstanding_amount(web_order),
        token="sim_ok",
        idempotency_key="web-card-1",
    )
    sold_here = cash_sale(shop, tee, quantity=2)  # 39.80 in cash
    lyon_channel = lyon.channels.get(kind="store")
    lyon_till = RegisterFactory(location=lyon, channel=lyon_channel)
    lyon_session = session_open(register=lyon_till, user=shop.seller, counted="50")

    # The web order brought back to Paris: cash out of Paris's drawer (its refund's
    # payment row is on the web channel). The Paris sale brought back to Lyon: cash out
    # of Lyon's drawer, not Paris's.
    refund_in_cash(
        web_order,
        channel=shop.store_channel,
        location=shop.store,
        register=shop.register,
        seller=shop.seller,
        key="ret-web-0001",
        quantity=2,
    )
    refund_in_cash(
        sold_here,
        channel=lyon_channel,
        location=lyon,
        register=lyon_till,
        seller=shop.seller,
        key="ret-lyon-0001",
    )
    simulated.reset()

    assert session_expected(opened) == {"cash": D("150.00")}  # 150 + 39.80 - 39.80
    assert session_expected(lyon_session) == {"cash": D("30.10")}  # 50 - 19.90


# --- Two tills at once (real connections) ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_tills_opening_the_same_register_at_once_make_one_session(shop, monkeypatch):
    seller_2 = UserFactory(username="seller-2", role="seller")
    previous = pos_sessions._previous_closing_cash

    def slow(register):  # between "no session yet?" and the insert: both tills are there
        time.sleep(0.3)
        return previous(register)

    monkeypatch.setattr(pos_sessions, "_previous_closing_cash", slow)

    outcomes = run_concurrently(
        2,
        lambda i: session_open(
            register=shop.register, user=(shop.seller, seller_2)[i], counted=f"{100 + i}"
        ),
    )

    sessions = [o for o in outcomes if isinstance(o, RegisterSession)]
    refused = [o for o in outcomes if isinstance(o, SessionAlreadyOpen)]
    assert (len(sessions), len(refused)) == (1, 1), outcomes
    assert RegisterSession.objects.get().pk == sessions[0].pk


@pytest.mark.django_db(transaction=True)
def test_the_same_cash_move_sent_by_two_connections_is_recorded_once(shop):
    session = session_open(register=shop.register, user=shop.seller, counted="100")

    outcomes = run_concurrently(
        4, lambda i: move(session, shop.seller, "-25", "drop-retried", kind="bank_drop")
    )

    assert all(isinstance(o, CashMove) for o in outcomes), outcomes
    assert len({o.pk for o in outcomes}) == 1
    assert CashMove.objects.count() == 1


# --- The admin shows, never changes ---------------------------------------------------


def test_the_admin_shows_a_closed_session_and_its_cash_read_only(client, shop, opened, tee):
    boss = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(boss)
    cash_sale(shop, tee)
    recorded = move(opened, shop.seller, "-20", "drop-1", kind="bank_drop", reason="Bank")
    done = closed(opened, shop.seller, "149.90")

    session_page = client.get(f"/admin/pos/registersession/{done.pk}/change/")
    move_page = client.get(f"/admin/pos/cashmove/{recorded.pk}/change/")
    z_page = client.get(f"/admin/pos/zreport/{done.z_report.pk}/change/")
    post = client.post(f"/admin/pos/cashmove/{recorded.pk}/change/", {"amount": "500"})

    assert (session_page.status_code, move_page.status_code, z_page.status_code) == (200, 200, 200)
    assert b"Bank" in session_page.content
    assert b'name="amount"' not in move_page.content
    assert post.status_code == 403
    assert CashMove.objects.get().amount == D("-20.00")


def test_a_session_does_not_go_to_closing_while_a_sale_is_parked(shop, opened, stocked_variant):
    from orders.models import CartLine
    from pos.exceptions import SessionHasParkedSales
    from pos.models import ParkedSale
    from pos.parking import sale_park

    variant = stocked_variant(store=2)
    cart = cart_create(channel=shop.store_channel)
    CartLine.objects.create(cart=cart, variant=variant, quantity=1)
    sale_park(register=shop.register, cart=cart, seller=shop.seller)

    with pytest.raises(SessionHasParkedSales):
        session_close_start(session=opened, user=shop.seller)
    opened.refresh_from_db()
    assert opened.status == "open"

    ParkedSale.objects.all().delete()  # recalled (and finished) meanwhile
    assert session_close_start(session=opened, user=shop.seller).status == "closing_control"


def test_opening_and_closing_are_in_the_registers_fiscal_chains(shop, stocked_variant):
    from pos.fiscal.journal import journal_verify
    from pos.models import JournalRecord

    session = session_open(register=shop.register, user=shop.seller, counted="100.00")
    cash_sale(shop, stocked_variant(store=3, price_amount=Decimal("12.00")))
    closed(session, shop.seller, "112.00")

    records = list(
        JournalRecord.objects.filter(chain__register=shop.register)
        .order_by("id")
        .values_list("kind", "event_code")
    )
    assert records == [
        ("event", "session_open"),
        ("ticket", ""),
        ("z_report", ""),
        ("event", "session_close"),
    ]
    z_report = JournalRecord.objects.get(kind="z_report")
    assert z_report.payload["session"] == session.pk
    assert journal_verify().intact
