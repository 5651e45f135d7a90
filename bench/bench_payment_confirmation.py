"""A payment link paid on the customer's phone, confirmed later by the provider: how long
after the provider's confirmation leaves does the seller's POS screen say "paid".

    .venv/bin/python bench/bench_payment_confirmation.py
    (or: make bench NAMES=payment_confirmation)

Environment: BENCH_ORDERS (200 measured), BENCH_WARMUP_ORDERS (20), BENCH_RATE
(10 confirmations/s), BENCH_POLL_MS (100), BENCH_CONCURRENCY (8 confirmations in flight).

Data, fresh for each run: a store, its register and its channel ``bench-confirm``, a
seller (superuser) logged in with the register chosen (a real session in the database,
its cookie sent by the pollers), BENCH_WARMUP_ORDERS + BENCH_ORDERS orders of 30.00 EUR
on the store's channel, each with a payment link (``payment_link_create``) paid in full
by the customer with the simulated gateway's ``sim_delayed`` card
(``payment_link_pay``): the payment is *pending*, the order unpaid, waiting for the
provider's confirmation. The simulated gateway's own delayed confirmations (Celery
tasks) are purged from the queues before the load starts: the confirmations measured are
the ones this benchmark sends.

Load, over HTTP against gunicorn (the project's config: sync workers, persistent
database connections): confirmation k is due at ``start + k / BENCH_RATE``. For each
order, a poller does what the POS screen does — ``GET /pos/orders/<reference>/payment/
?since=<fingerprint>`` with ``HX-Request`` as the logged-in seller every BENCH_POLL_MS,
starting at a random phase before the confirmation — while the provider's signed webhook
(``payment.succeeded``, signed like the simulated gateway signs it) is POSTed to
``/payments/webhooks/simulated/``. The POS endpoint answers 204 while nothing changed,
and the settled panel (``HX-Retarget: #payment-panel``) once the order is paid.

Latency = the first poll answer saying paid (its arrival) − the moment the webhook POST
was sent; one clock (``time.monotonic`` of this process). Polling every BENCH_POLL_MS
adds up to that much to each figure, as it does on a real till. Also reported: the
webhook POST's own duration (the order is marked paid inside it), and orders never seen
paid within 10 s (*lost*), the schedule's lag, and who used the cores (this process,
gunicorn, the PostgreSQL backends of the database, the whole machine). No Celery worker
is involved on this path (the webhook view processes the event in the request); the
queues are purged before and after.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from common import django_setup, gunicorn, now_iso, percentile, report, stack

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
from webhook_rig import CpuMeter, queues_purge, stop_on_sigterm

ORDERS = int(os.environ.get("BENCH_ORDERS", "200"))
WARMUP_ORDERS = int(os.environ.get("BENCH_WARMUP_ORDERS", "20"))
RATE = float(os.environ.get("BENCH_RATE", "10"))
POLL = float(os.environ.get("BENCH_POLL_MS", "100")) / 1000
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
SEEN_TIMEOUT = 10.0
CODE = "bench-confirm"


@dataclass(frozen=True)
class Pending:
    reference: str
    order_id: int
    provider_reference: str
    amount: str
    currency: str
    fingerprint: str


def shop_prepare(count: int) -> tuple[str, list[Pending]]:
    """The store, its register, the seller's session (its key), and ``count`` orders
    whose link payment waits for the provider."""
    channel, session_key = _store_session()
    run = uuid.uuid4().hex[:8]
    pending = [_order_pending(channel, k, run) for k in range(count)]
    return session_key, pending


def _store_session():
    """The store's channel, location and register, and the session of its seller logged
    in with the register chosen."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from inventory.models import Location
    from pos.models import Register
    from pos.web.common import SESSION_REGISTER
    from unicommerce.channels.models import SalesChannel

    channel, _ = SalesChannel.objects.update_or_create(
        code=CODE, defaults={"name": "Benchmark confirm store", "kind": "store", "is_active": True}
    )
    location, _ = Location.objects.update_or_create(
        code=CODE, defaults={"name": "Benchmark confirm store", "kind": "store", "is_active": True}
    )
    location.channels.set([channel])
    register, _ = Register.objects.update_or_create(
        code=CODE,
        defaults={
            "name": "Bench till",
            "location": location,
            "channel": channel,
            "is_active": True,
        },
    )
    seller, _created = get_user_model().objects.get_or_create(
        username="bench-confirm-seller", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(seller)
    session = client.session
    session[SESSION_REGISTER] = register.pk
    session.save()
    return channel, session.session_key


def _order_pending(channel, k: int, run: str) -> Pending:
    """Order ``k`` of the run, its link paid with a card whose confirmation is delayed."""
    from decimal import Decimal

    from orders.models import Order
    from payments.services.links import payment_link_create, payment_link_pay
    from pos.selectors import payment_fingerprint

    order = Order.objects.create(
        channel=channel,
        status=Order.Status.PLACED,
        currency="EUR",
        total_amount=Decimal("30.00"),
    )
    _link, token = payment_link_create(order=order, phone=f"+3361{k:07d}", channel=channel)
    link = payment_link_pay(
        token=token,
        card_token="sim_delayed",  # noqa: S106 - a simulated outcome
        idempotency_key=f"bench-{run}-{k}",
    )
    payment = link.payment
    assert payment.status == "pending", payment.status
    return Pending(
        reference=order.reference,
        order_id=order.pk,
        provider_reference=payment.provider_reference,
        amount=str(payment.amount),
        currency=payment.currency,
        fingerprint=payment_fingerprint(order_id=order.pk),
    )


def _request(address: str, method: str, path: str, body: bytes | None, headers: dict):
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, dict(response.getheaders()), data
    finally:
        connection.close()


def gunicorn_pids(address: str) -> list[int]:
    """gunicorn's master (its command line names our address); CpuMeter adds its
    workers, its children."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if address.encode() in cmdline.read():
                    pids.append(int(entry))
    return pids


def _poll(
    address: str,
    session_key: str,
    order: Pending,
    *,
    phase: float,
    done: threading.Event,
    seen: dict[str, float],
    polls: list[int],
) -> None:
    """What the POS screen does: poll every POLL from ``phase`` before now, follow each
    change, until the answer says paid (``seen["paid"]``), an error, or ``done``."""
    from django.db import connection

    from pos.selectors import payment_fingerprint

    since = [order.fingerprint]
    poll_headers = {
        "Host": address,
        "Cookie": f"sessionid={session_key}",
        "HX-Request": "true",
    }
    tick = time.monotonic() - phase
    try:
        while not done.is_set():
            tick += POLL
            time.sleep(max(0.0, tick - time.monotonic()))
            status, headers, _ = _request(
                address,
                "GET",
                f"/pos/orders/{order.reference}/payment/?since={since[0]}",
                None,
                poll_headers,
            )
            polls[0] += 1
            if status == 200 and headers.get("HX-Retarget") == "#payment-panel":
                seen["paid"] = time.monotonic()
                return
            if status == 200:  # another change (not paid yet): follow it
                since[0] = payment_fingerprint(order_id=order.order_id)
            elif status != 204:
                seen["error"] = status
                return
    finally:
        connection.close()


def confirm(address: str, session_key: str, order: Pending, *, phase: float) -> dict:
    """Poll the POS as the seller while the provider's webhook is posted; the time from
    the POST to the first answer saying paid."""
    from payments.gateways import simulated

    seen: dict[str, float] = {}
    done = threading.Event()
    polls = [0]
    thread = threading.Thread(
        target=_poll,
        args=(address, session_key, order),
        kwargs={"phase": phase, "done": done, "seen": seen, "polls": polls},
    )
    thread.start()
    time.sleep(phase)
    body = simulated.webhook_body(
        event_id=f"bench_evt_{order.provider_reference}",
        event_type="payment.succeeded",
        reference=order.provider_reference,
        amount=order.amount,
        currency=order.currency,
    )
    headers = {"Host": address, **simulated.webhook_headers(body)}
    sent = time.monotonic()
    status, _, answer = _request(address, "POST", "/payments/webhooks/simulated/", body, headers)
    posted = time.monotonic()
    thread.join(SEEN_TIMEOUT)
    done.set()
    thread.join()
    return {
        "sent": sent,
        "latency": seen["paid"] - sent if "paid" in seen else None,
        "post": posted - sent,
        "webhook_status": status,
        "webhook_answer": answer[:200],
        "poll_error": seen.get("error"),
        "polls": polls[0],
    }


def rate_of(moments: list[float]) -> float:
    """Confirmations per second actually sent (the schedule may lag on a busy machine)."""
    if len(moments) < 2:
        return float("nan")
    return round((len(moments) - 1) / (max(moments) - min(moments)), 1)


def confirm_all(
    address: str, session_key: str, orders: list[Pending], meter: CpuMeter
) -> tuple[list[tuple[int, dict]], list[str], dict]:
    """Confirmation k due at ``start + k / RATE``, CONCURRENCY in flight; a CPU sample
    when the first measured one starts and one when all are done."""
    results: list[tuple[int, dict]] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    samples = {}

    def run(k: int, order: Pending) -> None:
        due = start + k / RATE
        time.sleep(max(0.0, due - time.monotonic()))
        lag = time.monotonic() - due
        if k == WARMUP_ORDERS:
            samples["from"] = meter.sample()
        try:
            result = confirm(address, session_key, order, phase=random.uniform(0, POLL))
        except Exception as error:  # reported, and counted against the run
            with lock:
                errors.append(f"{type(error).__name__}: {error}"[:200])
            return
        with lock:
            results.append((k, result | {"lag": lag}))

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        for k, order in enumerate(orders):
            pool.submit(run, k, order)
    samples["to"] = meter.sample()
    return results, errors, samples


def confirmation_figures(
    results: list[tuple[int, dict]], errors: list[str], orders: list[Pending], samples: dict
) -> dict:
    from orders.models import Order

    measured = [r for k, r in results if k >= WARMUP_ORDERS]
    values = [r["latency"] for r in measured if r["latency"] is not None]
    posts = [r["post"] for r in measured]
    bad_webhooks = [r for r in measured if r["webhook_status"] != 200]
    if bad_webhooks:
        print("webhook answers:", [r["webhook_answer"] for r in bad_webhooks[:3]])
    if errors:
        print("errors:", errors[:5])
    paid = Order.objects.filter(
        pk__in=[o.order_id for o in orders], payment_status=Order.PaymentStatus.PAID
    ).count()

    def ms(v: list[float], p: float) -> float:
        return round(percentile(v, p) * 1000, 1) if v else float("nan")

    figures = {
        "p50_ms": ms(values, 50),
        "p99_ms": ms(values, 99),
        "max_ms": round(max(values) * 1000, 1) if values else float("nan"),
        "webhook_post_p50_ms": ms(posts, 50),
        "webhook_post_p99_ms": ms(posts, 99),
        "confirmations": len(measured),
        "lost": len(measured) - len(values),
        "errors": len(errors) + len(bad_webhooks) + sum(1 for r in measured if r["poll_error"]),
        "orders_paid": paid,
        "orders_not_paid": len(orders) - paid,
        "polls": sum(r["polls"] for r in measured),
        "schedule_lag_p99_ms": ms([r["lag"] for r in measured], 99),
        "confirmations_per_s": rate_of([r["sent"] for r in measured]),
    }
    if "from" in samples:
        cores = CpuMeter.cores(samples["from"], samples["to"])
        cores["gunicorn_cores"] = cores.pop("worker_cores")
        figures |= cores
    return figures


def confirmation_workload(loadavg_before: float) -> dict:
    return {
        "orders": ORDERS,
        "warmup_orders": WARMUP_ORDERS,
        "rate_per_s": RATE,
        "poll_interval_ms": POLL * 1000,
        "in_flight": CONCURRENCY,
        "gunicorn_workers": int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1),
        "machine_loadavg_1m_before": loadavg_before,
        "path": "signed webhook POST /payments/webhooks/simulated/ -> order paid -> "
        "GET /pos/orders/<reference>/payment/?since= (HX-Request, seller session) "
        "answers the settled panel",
        "note": "shared machine: figures drift with other people's load; "
        "load generator, gunicorn and PostgreSQL share the cores",
    }


def main() -> None:
    started_at = now_iso()
    stop_on_sigterm()
    loadavg_before = round(os.getloadavg()[0], 2)
    with stack(), contextlib.ExitStack() as cleanup:
        django_setup()
        session_key, orders = shop_prepare(WARMUP_ORDERS + ORDERS)
        queues_purge()  # the simulated gateway's own delayed confirmations: not ours
        cleanup.callback(queues_purge)
        address = cleanup.enter_context(gunicorn())
        meter = CpuMeter(gunicorn_pids(address))
        results, errors, samples = confirm_all(address, session_key, orders, meter)
        figures = confirmation_figures(results, errors, orders, samples)
        workload = confirmation_workload(loadavg_before)
        cleanup.close()
        report(
            "payment_confirmation",
            started_at=started_at,
            workload=workload,
            figures=figures,
            targets={"p99_ms": "<= 1000", "lost": "<= 0", "errors": "<= 0"},
        )


if __name__ == "__main__":
    main()
