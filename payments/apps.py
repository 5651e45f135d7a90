from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        # Cash at the till: checkout hands the order over to payment_take_cash with the
        # cash received (orders.payment_methods; "pay in store" stays for paying later).
        from orders.payment_methods import payment_method_register
        from payments.services import payment_cash_handoff

        payment_method_register("cash", _("Cash"), payment_cash_handoff, channel_kinds={"store"})
