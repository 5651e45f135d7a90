"""Completed till sales with the fiscal journal on, as a ratio to the same run with it off
(issue 15).

Service level, as the till's "paid in cash" button runs it: a cart on the store's
channel with 3 lines (3 of 50 variants, stock in the store), then
``pos.services.sale_complete`` (the one checkout, stock taken from the store, the cash
payment with its change, and — journal on — the sale's ticket in its register's chain,
all in one transaction). 8 worker processes sell at once on 20 registers of one store
(worker k uses registers k, k+8, k+16 in turn), each register with its open session.
"Journal off" is the same code with the ticket's writing replaced by nothing, in the
workers only: production has no switch for it.
    .venv/bin/python bench/bench_till_sales.py      (or: make bench NAMES=till_sales)

The phases alternate on, off, off, on, … (``BENCH_ROUNDS`` pairs of ``BENCH_SECONDS``
each, every process warming up first), so a drifting or noisy neighbour hurts both sides
alike; the ratio is the sales per second with the
journal over those without it. After the run, every register's ticket chain is verified
(gapless, hashes valid). Figures: sales/s on and off, p50/p99 of one sale, the ratio,
and the chains' breaks (must be 0).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from decimal import Decimal

from common import django_setup, now_iso, percentile, report, stack, vacuum_analyze

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "2"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))  # on/off pairs, in the order ABBA
REGISTERS = 20
VARIANTS = 50
LINES = 3
STOCK = 10_000_000
PREFIX = "bench-till"


def prepare() -> dict:
    """The store, its channel, 20 registers each with an open session, the seller and the
    50 variants with plenty of stock in the store."""
    from django.contrib.auth import get_user_model

    from inventory.models import Location, StockLevel
    from inventory.services.stock import stock_receive
    from pos.models import Register
    from unicommerce.access.roles import role_permissions
    from unicommerce.channels.models import SalesChannel

    channel, _ = SalesChannel.objects.get_or_create(
        code=f"{PREFIX}-store", defaults={"name": "Bench till store", "kind": "store"}
    )
    store, _ = Location.objects.get_or_create(
        code=f"{PREFIX}-store", defaults={"name": "Bench till store", "kind": "store"}
    )
    store.channels.add(channel)
    seller, _ = get_user_model().objects.get_or_create(username=f"{PREFIX}-seller")
    seller.user_permissions.add(*role_permissions("seller"))
    store.staff.add(seller)
    registers = [
        Register.objects.get_or_create(
            code=f"{PREFIX}-{n:02d}",
            defaults={"name": f"Bench till {n}", "location": store, "channel": channel},
        )[0]
        for n in range(1, REGISTERS + 1)
    ]
    for register in registers:
        _session_fresh(register, seller)
    variants = [_variant(n) for n in range(VARIANTS)]
    for variant in variants:
        level = StockLevel.objects.filter(variant=variant, location=store).first()
        missing = STOCK - (level.on_hand - level.reserved if level else 0)
        if missing > 0:
            stock_receive(variant_id=variant.pk, location_id=store.pk, quantity=missing)
    return {
        "channel": channel.pk,
        "registers": [r.pk for r in registers],
        "seller": seller.pk,
        "variants": [v.pk for v in variants],
    }


def _session_fresh(register, seller) -> None:
    """An open session young enough to sell: one left by an earlier run is closed (what
    was expected counted) and a new one opened."""
    from pos.session_figures import session_expected
    from pos.sessions import (
        session_close,
        session_close_start,
        session_current,
        session_open,
        session_too_old,
    )

    session = session_current(register)
    if session is not None and session_too_old(session):
        session = session_close_start(session=session, user=seller)
        counts = {tender: str(amount) for tender, amount in session_expected(session).items()}
        session_close(session=session, counts=counts, user=seller)
        session = None
    if session is None:
        session_open(register=register, user=seller, counted="200.00")


def _variant(n: int):
    from catalog.models import Product, Variant

    sku = f"BENCH-TILL-{n:03d}"
    variant = Variant.objects.filter(sku=sku).first()
    if variant is None:
        product = Product.objects.create(name=f"Bench till product {n}")
        variant = Variant.objects.create(product=product, sku=sku, price_amount=f"{9 + n % 40}.90")
    return variant


def _sell(ids: dict, register, seller, variants, rng) -> None:
    from orders.services.carts import cart_create, cart_line_add
    from pos.services import sale_complete

    cart = cart_create(channel=register.channel)
    for variant in rng.sample(variants, LINES):
        cart_line_add(cart=cart, variant=variant, channel=register.channel)
    sale_complete(
        register=register,
        cart=cart,
        payment_method="cash",
        tendered=Decimal("500.00"),
        seller=seller,
    )


def _worker(index: int, ids: dict, journal: bool, seconds: float, queue, barrier) -> None:
    """One till process: sells for WARMUP (not counted), waits for the others (so no
    process measures while another is still starting), then sells for ``seconds``; puts
    its latencies (or its first error) on ``queue``."""
    django_setup()
    from django.contrib.auth import get_user_model

    import pos.services
    from catalog.models import Variant
    from pos.models import Register

    if not journal:
        pos.services.sale_ticket_record = lambda **kwargs: None
    registers = list(
        Register.objects.select_related("channel", "location").filter(
            pk__in=ids["registers"][index::WORKERS]
        )
    )
    seller = get_user_model().objects.get(pk=ids["seller"])
    variants = list(Variant.objects.filter(pk__in=ids["variants"]))
    rng = random.Random(index)
    latencies: list[float] = []
    try:
        warm_until = time.monotonic() + WARMUP
        while time.monotonic() < warm_until:
            _sell(ids, rng.choice(registers), seller, variants, rng)
        barrier.wait(timeout=120)
        stop_at = time.monotonic() + seconds
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            _sell(ids, registers[len(latencies) % len(registers)], seller, variants, rng)
            latencies.append(time.perf_counter() - started)
        queue.put(("ok", latencies))
    except Exception as error:  # reported by the parent, never hidden
        barrier.abort()
        queue.put(("error", f"{type(error).__name__}: {error}"[:400]))


def phase(ids: dict, *, journal: bool) -> dict:
    """WORKERS processes selling at once for SECONDS; their sales per second."""
    context = multiprocessing.get_context("spawn")
    queue, barrier = context.Queue(), context.Barrier(WORKERS)
    workers = [
        context.Process(target=_worker, args=(i, ids, journal, SECONDS, queue, barrier))
        for i in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=SECONDS + WARMUP + 120) for _ in workers]
    for worker in workers:
        worker.join()
    errors = [detail for status, detail in results if status == "error"]
    if errors:
        raise SystemExit(f"a till failed: {errors[0]}")
    latencies = [value for _, values in results for value in values]
    return {"sales": len(latencies), "latencies": latencies}


def chains_check(ids: dict) -> dict:
    """Every register's ticket chain after the run: gapless and every hash valid."""
    from pos.fiscal.journal import journal_verify
    from pos.models import JournalChain, JournalKind

    chains = list(
        JournalChain.objects.filter(register_id__in=ids["registers"], kind=JournalKind.TICKET)
    )
    check = journal_verify(chains=chains)
    return {"chains": check.chains, "records": check.records, "breaks": len(check.breaks)}


def main() -> None:
    started_at = now_iso()
    with stack():
        django_setup()
        from django.db import connection

        ids = prepare()
        vacuum_analyze()
        connection.close()
        runs = {True: [], False: []}
        for journal in _order():
            runs[journal].append(phase(ids, journal=journal))
            print(f"journal {'on ' if journal else 'off'}: {runs[journal][-1]['sales']} sales")
        checked = chains_check(ids)
    figures = _figures(runs, checked)
    report(
        "till_sales",
        workload={
            "registers": REGISTERS,
            "concurrency": WORKERS,
            "lines_per_sale": LINES,
            "seconds_per_phase": SECONDS,
            "phases": ", ".join("on" if journal else "off" for journal in _order()),
        },
        figures=figures,
        targets={"journal_ratio": ">= 0.8", "chain_breaks": "<= 0"},
        started_at=started_at,
    )


def _order() -> list[bool]:
    """On, off, off, on, on, off, …: each side as often first as second."""
    return [(n % 2 == 0) == (n // 2 % 2 == 0) for n in range(2 * ROUNDS)]


def _figures(runs: dict, checked: dict) -> dict:
    seconds = ROUNDS * SECONDS
    on = [v for run in runs[True] for v in run["latencies"]]
    off = [v for run in runs[False] for v in run["latencies"]]
    on_rate, off_rate = len(on) / seconds, len(off) / seconds
    return {
        "sales_per_s_journal_on": round(on_rate, 1),
        "sales_per_s_journal_off": round(off_rate, 1),
        "journal_ratio": round(on_rate / off_rate, 3) if off_rate else None,
        "p50_ms_journal_on": round(percentile(on, 50) * 1000, 1),
        "p99_ms_journal_on": round(percentile(on, 99) * 1000, 1),
        "p50_ms_journal_off": round(percentile(off, 50) * 1000, 1),
        "p99_ms_journal_off": round(percentile(off, 99) * 1000, 1),
        "ticket_chains": checked["chains"],
        "tickets_verified": checked["records"],
        "chain_breaks": checked["breaks"],
    }


if __name__ == "__main__":
    main()
