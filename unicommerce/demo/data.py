"""Builds the demo chain: one warehouse, two stores, a web channel, ~200 products with
size/colour variants and EAN-13 barcodes, stock everywhere, staff with roles, customers.

Idempotent: every piece is looked up by its natural key first, and stock is only seeded
for (variant, location) pairs that have never had any.
"""

from __future__ import annotations

import random
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from catalog.barcodes import ean13_from
from catalog.models import Barcode, Category, ChannelPrice, Product, Publication, Variant
from customers.models import Address, Consent, Customer
from inventory.models import (
    Location,
    ReplenishmentRule,
    StockLevel,
    Supplier,
    SupplierItem,
)
from inventory.services.locations import channel_stock_rebuild
from inventory.services.stock import stock_receive_many
from pos.models import Register, StoreIdentity
from unicommerce.access.roles import ADMIN_ROLES, roles_sync
from unicommerce.channels.models import ApiKey, SalesChannel
from unicommerce.channels.services import api_key_hash
from unicommerce.demo.accounts import (
    DEMO_ACCOUNTS,
    DEMO_WEB_PUBLISHABLE_KEY,
    DEMO_WEB_SECRET_KEY,
)
from unicommerce.demo.pictures import demo_pictures

SIZES = ["XS", "S", "M", "L", "XL"]
SHOE_SIZES = ["38", "39", "40", "41", "42", "43"]
COLOURS = ["Navy", "Black", "White", "Sand", "Forest", "Burgundy", "Sky", "Charcoal"]
BRANDS = ["Maison Lune", "Atelier Nord", "Rive Gauche", "Brume", "Côte Sauvage"]

# (family, SKU code, sizes, base price, VAT rate, how many products)
FAMILIES = [
    ("T-shirt", "TS", SIZES, Decimal("19.90"), Decimal("20.0"), 40),
    ("Sweater", "SW", SIZES, Decimal("59.90"), Decimal("20.0"), 30),
    ("Jeans", "JN", ["36", "38", "40", "42", "44"], Decimal("79.00"), Decimal("20.0"), 30),
    ("Trainers", "TR", SHOE_SIZES, Decimal("89.00"), Decimal("20.0"), 25),
    ("Scarf", "SC", [None], Decimal("29.00"), Decimal("20.0"), 20),
    ("Cap", "CP", [None], Decimal("24.00"), Decimal("20.0"), 15),
    ("Style guide (book)", "BK", [None], Decimal("24.50"), Decimal("5.5"), 15),
    ("Herbal tea", "TE", [None], Decimal("8.90"), Decimal("5.5"), 15),
    ("Chocolate bar", "CH", [None], Decimal("4.20"), Decimal("5.5"), 10),
]
MODELS = [
    "Essential",
    "Classic",
    "Urban",
    "Coastal",
    "Alpine",
    "Heritage",
    "Studio",
    "Voyage",
    "Atlas",
    "Solstice",
]


def _channels_and_locations() -> dict[str, Location]:
    web, _ = SalesChannel.objects.get_or_create(
        code="web", defaults={"name": "Web store", "kind": SalesChannel.Kind.WEB}
    )
    paris_channel, _ = SalesChannel.objects.get_or_create(
        code="store-paris", defaults={"name": "Paris store", "kind": SalesChannel.Kind.STORE}
    )
    lyon_channel, _ = SalesChannel.objects.get_or_create(
        code="store-lyon", defaults={"name": "Lyon store", "kind": SalesChannel.Kind.STORE}
    )
    # (code, name, kind, city, postal code, latitude, longitude, channels fed)
    spec = [
        ("warehouse", "Orléans warehouse", Location.Kind.WAREHOUSE, "Orléans", "45000",
         "47.902964", "1.909251", [web]),
        ("paris", "Paris Marais", Location.Kind.STORE, "Paris", "75004",
         "48.857300", "2.358000", [paris_channel, web]),
        ("lyon", "Lyon Presqu'île", Location.Kind.STORE, "Lyon", "69002",
         "45.757800", "4.832000", [lyon_channel]),
        ("transit", "In transit", Location.Kind.TRANSIT, "", "", None, None, []),
        ("quarantine", "Quarantine", Location.Kind.QUARANTINE, "Orléans", "45000",
         None, None, []),
    ]  # fmt: skip
    locations = {}
    for code, name, kind, city, postal_code, lat, lon, channels in spec:
        position = {
            "postal_code": postal_code,
            "latitude": Decimal(lat) if lat else None,
            "longitude": Decimal(lon) if lon else None,
        }
        location, created = Location.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "city": city, **position}
        )
        if created:
            location.channels.set(channels)
        elif not location.postal_code and postal_code:
            Location.objects.filter(pk=location.pk).update(**position)
        locations[code] = location
    for code, name, location, channel in [
        ("paris-1", "Till 1", locations["paris"], paris_channel),
        ("paris-2", "Till 2", locations["paris"], paris_channel),
        ("lyon-1", "Till 1", locations["lyon"], lyon_channel),
    ]:
        Register.objects.get_or_create(
            code=code, defaults={"name": name, "location": location, "channel": channel}
        )
    _store_identities(locations)
    for raw, kind, name in [
        (DEMO_WEB_PUBLISHABLE_KEY, ApiKey.Kind.PUBLISHABLE, "demo storefront (publishable)"),
        (DEMO_WEB_SECRET_KEY, ApiKey.Kind.SECRET, "demo back end (secret)"),
    ]:
        ApiKey.objects.get_or_create(
            key_hash=api_key_hash(raw),
            defaults={"channel": web, "name": name, "kind": kind, "prefix": raw[:15]},
        )
    return locations


def _store_identities(locations: dict) -> None:
    """What the stores' receipts say about the seller (a fictional company)."""
    for code, address, postal_code, city, siret in [
        ("paris", "12 rue de Rivoli", "75001", "Paris", "90000000000012"),
        ("lyon", "8 rue de la République", "69002", "Lyon", "90000000000020"),
    ]:
        StoreIdentity.objects.get_or_create(
            location=locations[code],
            defaults={
                "legal_name": "Unicommerce Démo SAS",
                "address": address,
                "postal_code": postal_code,
                "city": city,
                "siret": siret,
                "vat_number": "FR12900000000",
                "footer": "Échange sous 30 jours avec ce ticket.",
            },
        )


def _users(groups: dict[str, Group], locations: dict[str, Location]) -> None:
    for account in DEMO_ACCOUNTS:
        user, created = User.objects.get_or_create(
            username=account.username,
            defaults={"first_name": account.first_name, "last_name": account.last_name},
        )
        if not created:
            continue
        user.set_password(account.password)
        user.is_staff = account.role in ADMIN_ROLES
        user.save()
        user.groups.add(groups[account.role])
        for store in account.stores:
            locations[store].staff.add(user)


CATEGORIES = [
    # (slug, name, parent slug)
    ("clothing", "Clothing", None),
    ("tops", "Tops", "clothing"),
    ("t-shirts", "T-shirts", "tops"),
    ("sweaters", "Sweaters", "tops"),
    ("bottoms", "Bottoms", "clothing"),
    ("jeans", "Jeans", "bottoms"),
    ("shoes", "Shoes", None),
    ("trainers", "Trainers", "shoes"),
    ("accessories", "Accessories", None),
    ("scarves", "Scarves", "accessories"),
    ("caps", "Caps", "accessories"),
    ("books", "Books", None),
    ("grocery", "Grocery", None),
    ("tea", "Tea", "grocery"),
    ("chocolate", "Chocolate", "grocery"),
]
FAMILY_CATEGORY = {
    "TS": "t-shirts",
    "SW": "sweaters",
    "JN": "jeans",
    "TR": "trainers",
    "SC": "scarves",
    "CP": "caps",
    "BK": "books",
    "TE": "tea",
    "CH": "chocolate",
}
SUPPLIERS = [
    ("atelier-textile", "Atelier Textile du Nord", ["TS", "SW", "JN", "SC", "CP"]),
    ("pas-de-loup", "Pas de Loup Chaussures", ["TR"]),
    ("epicerie-diffusion", "Épicerie & Livres Diffusion", ["BK", "TE", "CH"]),
]


def _categories() -> dict[str, Category]:
    categories: dict[str, Category] = {}
    for slug, name, parent in CATEGORIES:
        categories[slug], _ = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "parent": categories.get(parent)}
        )
    return categories


def _catalog(categories: dict[str, Category]) -> list[Variant]:
    rng = random.Random(2026)  # noqa: S311 - demo data, not security
    existing = set(Variant.objects.values_list("sku", flat=True))
    existing_products = {p.name: p for p in Product.objects.all()}
    serial = 0
    new_variants: list[tuple[Product, Variant, list[str]]] = []
    for family, code, sizes, base_price, vat_rate, count in FAMILIES:
        for index in range(count):
            model = MODELS[index % len(MODELS)]
            brand = BRANDS[(index + len(code)) % len(BRANDS)]
            colours = COLOURS[index % 3 :: 3][:2] if sizes != [None] else [None]
            price = base_price + Decimal(index % 4) * 10 + Decimal("0.00")
            name = f"{family} {model} {index // len(MODELS) + 1}"
            product = existing_products.get(name) or Product(
                name=name,
                brand=brand,
                vat_rate=vat_rate,
                category=categories[FAMILY_CATEGORY[code]],
                description=f"{family} from {brand}, {model.lower()} line.",
            )
            for colour in colours:
                for size in sizes:
                    serial += 1
                    sku = f"{code}{index + 1:03d}" + (f"-{colour[:3].upper()}" if colour else "")
                    sku += f"-{size}" if size else ""
                    if sku in existing:
                        continue
                    attributes = {}
                    if size:
                        attributes["size"] = size
                    if colour:
                        attributes["colour"] = colour
                    variant = Variant(
                        sku=sku,
                        attributes=attributes,
                        price_amount=price - Decimal("0.10") * rng.randint(0, 1),
                    )
                    codes = [ean13_from(f"200{serial:09d}")]
                    if serial % 10 == 0:  # an older packaging with its own barcode
                        codes.append(ean13_from(f"201{serial:09d}"))
                    new_variants.append((product, variant, codes))
    return _catalog_save(new_variants)


def _catalog_save(new_variants: list[tuple[Product, Variant, list[str]]]) -> list[Variant]:
    """Write the new products (published on every channel), variants and barcodes, and a
    web-only price on jeans; the variants created."""
    products = {id(p): p for p, _, _ in new_variants if p.pk is None}
    Product.objects.bulk_create(products.values())
    channels = list(SalesChannel.objects.all())
    Publication.objects.bulk_create(
        [Publication(product=p, channel=c) for p in products.values() for c in channels]
    )
    for product, variant, _ in new_variants:
        variant.product = product
    created = Variant.objects.bulk_create([v for _, v, _ in new_variants])
    Barcode.objects.bulk_create(
        [Barcode(variant=v, code=code) for (_, v, codes) in new_variants for code in codes]
    )
    web = SalesChannel.objects.get(code="web")
    ChannelPrice.objects.bulk_create(  # a web-only price on jeans, set on purpose
        [
            ChannelPrice(variant=v, channel=web, price_amount=v.price_amount - 5)
            for v in created
            if v.sku.startswith("JN")
        ]
    )
    return created


def _suppliers(locations: dict[str, Location]) -> None:
    if Supplier.objects.exists():
        return
    items = []
    variants = list(Variant.objects.order_by("id"))
    for code, name, families in SUPPLIERS:
        supplier = Supplier.objects.create(
            code=code, name=name, email=f"orders@{code}.example.com", lead_time_days=5
        )
        for variant in variants:
            if variant.sku[:2] in families:
                cost = (variant.price_amount / Decimal("1.2") * Decimal("0.45")).quantize(
                    Decimal("0.01")
                )
                items.append(
                    SupplierItem(
                        supplier=supplier,
                        variant=variant,
                        supplier_sku=f"{code[:3].upper()}-{variant.sku}",
                        unit_cost_amount=cost,
                        is_preferred=True,
                    )
                )
    SupplierItem.objects.bulk_create(items)
    ReplenishmentRule.objects.bulk_create(
        [
            ReplenishmentRule(variant=v, location=locations[store], minimum=2, maximum=6)
            for v in variants
            if v.sku.startswith("TS001") or v.sku.startswith("TS002")
            for store in ("paris", "lyon")
        ]
    )


def _stock(locations: dict[str, Location]) -> int:
    rng = random.Random(7)  # noqa: S311 - demo data, not security
    seeded = set(StockLevel.objects.values_list("variant_id", "location_id"))
    entries = []
    ranges = {"warehouse": (0, 60), "paris": (0, 8), "lyon": (0, 8)}
    for variant_id in Variant.objects.order_by("id").values_list("id", flat=True):
        for code, (low, high) in ranges.items():
            location = locations[code]
            quantity = rng.randint(low, high)
            if quantity and (variant_id, location.pk) not in seeded:
                entries.append((variant_id, location.pk, quantity))
    if entries:
        stock_receive_many(entries=entries, note="demo opening stock")
    return len(entries)


def _customers(channels: dict[str, SalesChannel]) -> None:
    now = timezone.now()
    for first, last, email, phone, address, channel in [
        ("Camille", "Durand", "camille.durand@example.com", "+33612345678",
         ("12 rue de Rivoli", "75004", "Paris", "48.855900", "2.357100"), "web"),
        ("Lucas", "Lefebvre", "lucas.lefebvre@example.com", "+33623456789",
         ("8 place Bellecour", "69002", "Lyon", "45.757600", "4.832100"), "store-lyon"),
        ("Emma", "Roux", "emma.roux@example.com", None,
         ("3 rue Jeanne d'Arc", "45000", "Orléans", "47.901900", "1.907700"), "web"),
        ("Nathan", "Fournier", None, "+33634567890", None, "store-paris"),
        ("Chloé", "Girard", "chloe.girard@example.com", "+33645678901",
         ("40 quai de la Tournelle", "75005", "Paris", "48.850500", "2.354000"), "web"),
    ]:  # fmt: skip
        customer, created = Customer.objects.get_or_create(
            email=email,
            phone=phone,
            defaults={
                "first_name": first,
                "last_name": last,
                "source_channel": channels[channel],
            },
        )
        if not created:
            continue
        if address:
            line1, postal_code, city, lat, lon = address
            Address.objects.create(
                customer=customer,
                label="Home",
                first_name=first,
                last_name=last,
                line1=line1,
                postal_code=postal_code,
                city=city,
                latitude=Decimal(lat),
                longitude=Decimal(lon),
                is_default=True,
            )
        for kind, granted in [
            (Consent.Kind.EMAIL_MARKETING, bool(email)),
            (Consent.Kind.SMS_MARKETING, bool(phone) and channel != "web"),
        ]:
            Consent.objects.create(
                customer=customer,
                kind=kind,
                granted=granted,
                source="demo data",
                channel=channels[channel],
                at=now,
            )


@transaction.atomic
def demo_load() -> dict[str, int]:
    groups = roles_sync()  # one group per staff role, with exactly its permissions
    locations = _channels_and_locations()
    _users(groups, locations)
    created = _catalog(_categories())
    _suppliers(locations)
    stocked = _stock(locations)
    _customers({c.code: c for c in SalesChannel.objects.all()})
    pictures = demo_pictures()  # drawn with Pillow, thumbnails made at once
    channel_stock_rebuild()  # the first API call already sees every channel's figures
    return {
        "variants_created": len(created),
        "stock_levels_seeded": stocked,
        "pictures_created": pictures,
        "products": Product.objects.count(),
        "variants": Variant.objects.count(),
    }
