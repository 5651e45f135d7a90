"""The promotions the pricing benchmarks run with (bench_cart_read, bench_checkout): a
catalogue that a retailer's busy week could have, all active on the bench channel.

``promotions_prepare(channel, products, categories, count)`` (idempotent: it tops the
bench's promotions up to ``count``) makes a mix: catalogue percent offers on products,
line offers on categories, buy-3-get-1 offers, order thresholds (percent and amount),
a few stackable ones. The products and categories given are the catalogue they target
at random (3 products, or 1 category, each): with a catalogue larger than a cart, a cart
meets a fraction of them, and every order-level offer.
"""

from __future__ import annotations

import random
from decimal import Decimal

PREFIX = "bench-promo-"


def promotions_prepare(*, channel, products: list, categories: list, count: int) -> int:
    from loyalty.models import Promotion

    prefix = f"{PREFIX}{channel.code}-"
    promotions_switch(True)  # a run stopped while they were off
    existing = Promotion.objects.filter(name__startswith=prefix).count()
    chooser = random.Random(14)
    made = []
    for index in range(existing, count):
        kind = index % 10
        fields = {"name": f"{prefix}{index}", "priority": chooser.randint(0, 9)}
        if kind < 4:
            fields.update(
                stage="catalogue", reward="percent", value=Decimal(chooser.randint(5, 30))
            )
        elif kind < 7:
            fields.update(stage="line", reward="percent", value=Decimal(chooser.randint(5, 20)))
        elif kind == 7:
            fields.update(
                stage="line", reward="bxgy", value=Decimal(100), buy_quantity=3, get_quantity=1
            )
        elif kind == 8:
            fields.update(
                stage="order",
                reward="amount",
                value=Decimal(chooser.randint(5, 20)),
                min_subtotal=Decimal(chooser.choice([50, 100, 200])),
            )
        else:
            fields.update(
                stage="order",
                reward="percent",
                value=Decimal(chooser.randint(2, 10)),
                min_subtotal=Decimal(chooser.choice([80, 150, 300])),
                stackable=True,
            )
        made.append((kind, Promotion.objects.create(**fields)))
    for kind, promotion in made:
        promotion.channels.add(channel)
        if kind in (4, 5, 6) and categories:
            promotion.categories.add(chooser.choice(categories))
        elif kind < 8:
            promotion.products.add(*chooser.sample(products, min(3, len(products))))
    return promotions_count(prefix)


def promotions_count(prefix: str) -> int:
    from loyalty.models import Promotion

    return Promotion.objects.filter(name__startswith=prefix, is_active=True).count()


def promotions_switch(active: bool) -> None:
    """Turn the benches' promotions on or off (to count a cart read's queries without
    them, in the same run)."""
    from loyalty.models import Promotion

    Promotion.objects.filter(name__startswith=PREFIX).update(is_active=active)
