from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        # Cash at the till: checkout hands the order over to payment_take_cash with the
        # cash received (orders.payment_methods; "pay in store" stays for paying later).
        from orders.payment_methods import payment_method_register
        from payments import checks  # noqa: F401 - registers the deployment checks
        from payments.services import payment_card_terminal_handoff, payment_cash_handoff

        payment_method_register(
            "cash", _("Cash"), payment_cash_handoff, channel_kinds={"store"}, in_person=True
        )
        # The card terminal at the till: the terminal approved the charge before the sale is
        # checked out, so the goods leave like a cash sale's; the till records the approval
        # right after the checkout commits (a payment is recorded outside any transaction).
        payment_method_register(
            "card_terminal",
            _("Card on the terminal"),
            payment_card_terminal_handoff,
            channel_kinds={"store"},
            in_person=True,
        )

        # Payment link by SMS: checkout holds the stock and the order waits for the
        # customer to pay on their phone (payments.links, which also subscribes to
        # "payment.captured" and declares the task payments.links_expire).
        from orders.payment_methods import payment_in_flight_register
        from payments.links import _payment_link_handoff
        from payments.services import order_payment_in_flight

        # An unpaid order is not cancelled while its payment is under way.
        payment_in_flight_register(order_payment_in_flight)

        payment_method_register(
            "payment_link", _("Payment link by SMS"), _payment_link_handoff, self_service=False
        )
