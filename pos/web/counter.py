"""The till's counter queue: this store's click & collect orders and the orders it ships
itself, still to hand over, each with the next step a seller takes at the counter:
start picking, ready for pickup (the customer gets the pickup code by SMS or e-mail),
collected against the code, or shipped with the carrier's tracking number. A scanned or
typed order reference finds its shipment here. The steps are the fulfilment services
the admin and the staff API use (``orders.services.fulfilment``, ``collect``); wrong
pickup codes are counted per shipment (``pickup_code_attempt_per_shipment``).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from orders.models import Shipment
from orders.selectors import store_fulfilment_queue
from orders.services.collect import shipment_collect, shipment_ready
from orders.services.fulfilment import shipment_pick_start, shipment_ship
from pos.messages import seller_message
from pos.models import Register
from pos.selectors import order_id_of
from pos.web.common import register_current, register_pick, seller_login_required
from unicommerce.exceptions import DomainError
from unicommerce.ratelimit import RateLimited

SHOWN = 100


def _shipment(register: Register, request: HttpRequest) -> Shipment | None:
    """The shipment the form names, if it is this store's (another store's is "none")."""
    raw = request.POST.get("shipment", "")
    if not raw.isdigit():
        return None
    return (
        Shipment.objects.select_related("order", "location")
        .filter(pk=int(raw), location_id=register.location_id)
        .first()
    )


def _pick(request, register, shipment: Shipment) -> str:
    shipment_pick_start(shipment=shipment, user=request.user, channel=register.channel)
    return _("Picking %(order)s.") % {"order": shipment.order.reference}


def _ready(request, register, shipment: Shipment) -> str:
    shipment_ready(shipment=shipment, user=request.user, channel=register.channel)
    return _("%(order)s is ready: the customer has been sent the pickup code.") % {
        "order": shipment.order.reference
    }


def _collect(request, register, shipment: Shipment) -> str:
    shipment_collect(
        shipment=shipment,
        code=request.POST.get("code", ""),
        user=request.user,
        channel=register.channel,
    )
    return _("%(order)s collected: the goods are handed over.") % {
        "order": shipment.order.reference
    }


def _ship(request, register, shipment: Shipment) -> str:
    shipment_ship(
        shipment=shipment,
        carrier=request.POST.get("carrier", ""),
        tracking_number=request.POST.get("tracking_number", ""),
        user=request.user,
        channel=register.channel,
    )
    return _("%(order)s shipped.") % {"order": shipment.order.reference}


ACTIONS = {"pick": _pick, "ready": _ready, "collect": _collect, "ship": _ship}


def _found(register: Register, shipments: list[Shipment], text: str) -> list[Shipment]:
    """The shipments of the order scanned or typed (its reference)."""
    order_id = order_id_of(text.strip().upper())
    return [s for s in shipments if order_id is not None and s.order_id == order_id]


@seller_login_required
def counter(request: HttpRequest) -> HttpResponse:
    register = register_current(request)
    if register is None:
        return register_pick(request)
    context: dict = {"register": register, "shown": SHOWN}
    status = 200
    if request.method == "POST":
        status = _act(request, register, context)
    shipments = store_fulfilment_queue(register.location_id, limit=SHOWN)
    search = request.GET.get("order", "").strip()
    if search:
        context["search"] = search
        found = _found(register, shipments, search)
        context["not_found"] = not found
        shipments = found or shipments
    context["shipments"] = shipments
    return TemplateResponse(request, "pos/counter.html", context, status=status)


def _act(request: HttpRequest, register: Register, context: dict) -> int:
    handler = ACTIONS.get(request.POST.get("action", ""))
    shipment = _shipment(register, request)
    if handler is None or shipment is None:
        context["error"] = _("This order is not in this store's queue any more.")
        return 404 if handler is not None else 400
    try:
        context["done"] = handler(request, register, shipment)
    except DomainError as error:
        context["error"] = seller_message(error)
        context["error_shipment"] = shipment.pk
        return 429 if isinstance(error, RateLimited) else 422
    return 200
