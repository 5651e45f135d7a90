"""Random sequences of stock operations (Hypothesis): receipts, sales, returns, damage,
reservations that expire, conversions, transfers with partial receipts and losses, cycle
counts. Whatever happens, on hand equals the sum of the ledger, nothing goes below zero,
reserved stays within on hand and equals the active reservations, and incoming equals
what is still on the way."""

import contextlib
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from inventory.exceptions import InsufficientStock, ReservationNotActive
from inventory.models import Reservation, StockLevel, StockMovement, Transfer, TransferLine
from inventory.selectors import levels_with_availability
from inventory.services.counts import count_post, count_record, count_start
from inventory.services.reservations import (
    reservation_convert,
    reservation_release,
    reservations_expire,
    stock_reserve,
)
from inventory.services.stock import stock_adjust, stock_receive, stock_sell
from inventory.services.transfers import (
    transfer_close,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from tests.factories import LocationFactory, VariantFactory

quantities = st.integers(min_value=1, max_value=6)


class StockLedger(RuleBasedStateMachine):
    reservations = Bundle("reservations")
    transfers = Bundle("transfers")

    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()  # each example runs in a savepoint rolled back at the end

    @initialize()
    def places_and_products(self):
        self.locations = [LocationFactory(kind="store"), LocationFactory(kind="warehouse")]
        self.variants = [VariantFactory(), VariantFactory()]

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def pick(self, data_variant: int, data_location: int):
        return self.variants[data_variant].pk, self.locations[data_location].pk

    @rule(v=st.integers(0, 1), loc=st.integers(0, 1), quantity=quantities)
    def receive(self, v, loc, quantity):
        variant_id, location_id = self.pick(v, loc)
        stock_receive(variant_id=variant_id, location_id=location_id, quantity=quantity)

    @rule(v=st.integers(0, 1), loc=st.integers(0, 1), quantity=quantities)
    def sell(self, v, loc, quantity):
        variant_id, location_id = self.pick(v, loc)
        with contextlib.suppress(InsufficientStock):
            stock_sell(location_id=location_id, lines=[(variant_id, quantity)])

    @rule(v=st.integers(0, 1), loc=st.integers(0, 1), quantity=quantities)
    def customer_return(self, v, loc, quantity):
        variant_id, location_id = self.pick(v, loc)
        stock_adjust(
            variant_id=variant_id, location_id=location_id, quantity=quantity, reason="return"
        )

    @rule(v=st.integers(0, 1), loc=st.integers(0, 1), quantity=quantities)
    def damage(self, v, loc, quantity):
        variant_id, location_id = self.pick(v, loc)
        with contextlib.suppress(InsufficientStock):
            stock_adjust(
                variant_id=variant_id, location_id=location_id, quantity=-quantity, reason="damage"
            )

    @rule(
        target=reservations,
        v=st.integers(0, 1),
        loc=st.integers(0, 1),
        quantity=quantities,
        minutes=st.one_of(st.none(), st.integers(1, 30)),
    )
    def reserve(self, v, loc, quantity, minutes):
        variant_id, location_id = self.pick(v, loc)
        expires_at = timezone.now() + timedelta(minutes=minutes) if minutes else None
        try:
            return stock_reserve(
                variant_id=variant_id,
                location_id=location_id,
                quantity=quantity,
                expires_at=expires_at,
            ).pk
        except InsufficientStock:
            return None

    @rule(reservation_id=reservations)
    def time_runs_out(self, reservation_id):
        if reservation_id is not None:
            Reservation.objects.filter(pk=reservation_id, status="active").update(
                expires_at=timezone.now() - timedelta(seconds=1)
            )

    @rule()
    def expiry_task(self):
        reservations_expire()

    @rule(reservation_id=consumes(reservations))
    def release(self, reservation_id):
        if reservation_id is None:
            return
        with contextlib.suppress(ReservationNotActive):
            reservation_release(reservation=Reservation.objects.get(pk=reservation_id))

    @rule(reservation_id=consumes(reservations))
    def convert(self, reservation_id):
        if reservation_id is None:
            return
        with contextlib.suppress(ReservationNotActive):
            reservation_convert(reservation=Reservation.objects.get(pk=reservation_id))

    @rule(
        target=transfers,
        v=st.integers(0, 1),
        origin=st.integers(0, 1),
        quantity=quantities,
        ship=st.booleans(),
    )
    def transfer(self, v, origin, quantity, ship):
        source, destination = self.locations[origin], self.locations[1 - origin]
        transfer = transfer_create(
            from_location=source,
            to_location=destination,
            lines=[(self.variants[v].pk, quantity)],
        )
        if ship:
            try:
                transfer_ship(transfer=transfer)
                event("transfer shipped")
            except InsufficientStock:
                event("transfer refused: not enough stock")
        return transfer.pk

    @rule(transfer_id=transfers, quantity=quantities)
    def receive_part(self, transfer_id, quantity):
        transfer = Transfer.objects.get(pk=transfer_id)
        if transfer.status not in {"shipped", "partially_received"}:
            return
        line = transfer.lines.get()
        outstanding = line.quantity - line.quantity_received
        transfer_receive(
            transfer=transfer, quantities={line.variant_id: min(quantity, outstanding)}
        )

    @rule(transfer_id=consumes(transfers))
    def close_with_discrepancy(self, transfer_id):
        transfer = Transfer.objects.get(pk=transfer_id)
        if transfer.status in {"shipped", "partially_received"}:
            transfer_close(transfer=transfer)

    @rule(loc=st.integers(0, 1), v=st.integers(0, 1), found=st.integers(0, 8))
    def count(self, loc, v, found):
        count = count_start(
            location=self.locations[loc], kind="cycle", variant_ids=[self.variants[v].pk]
        )
        count_record(count=count, code=self.variants[v].sku, quantity=found)
        try:
            count_post(count=count)
            event("count posted")
        except InsufficientStock:
            event("count refused: reserved units")

    @invariant()
    def ledger_and_levels_agree(self):
        if not hasattr(self, "variants"):
            return
        for level in levels_with_availability():
            ledger = StockMovement.objects.filter(
                variant_id=level.variant_id, location_id=level.location_id
            ).aggregate(total=Sum("quantity"))["total"]
            assert level.on_hand == (ledger or 0)
            assert level.on_hand >= 0
            assert 0 <= level.reserved <= level.on_hand
            assert level.available_now >= 0
            active = Reservation.objects.filter(
                variant_id=level.variant_id, location_id=level.location_id, status="active"
            ).aggregate(total=Sum("quantity"))["total"]
            assert level.reserved == (active or 0)
            assert level.incoming >= 0
        in_transit = {
            (line.variant_id, line.transfer.to_location_id): 0
            for line in TransferLine.objects.select_related("transfer")
        }
        for line in TransferLine.objects.select_related("transfer").filter(
            transfer__status__in=["shipped", "partially_received"]
        ):
            key = (line.variant_id, line.transfer.to_location_id)
            in_transit[key] += line.quantity - line.quantity_received
        for (variant_id, location_id), units in in_transit.items():
            level = StockLevel.objects.filter(
                variant_id=variant_id, location_id=location_id
            ).first()
            assert (level.incoming if level else 0) == units
        for movement in StockMovement.objects.all():
            assert movement.on_hand_after >= 0


@pytest.mark.django_db
def test_random_stock_histories_keep_the_ledger_true():
    run_state_machine_as_test(
        StockLedger,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
