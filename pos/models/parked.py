"""A sale parked at a register: the customer steps aside (a forgotten wallet, another
size to try), the till serves the next one, and recalls the sale later, as it was. The
sale is the cart itself (its lines, codes and discounts are kept); parking only records
where and by whom."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.models import Cart
from pos.models.registers import Register


class ParkedSale(models.Model):
    register = models.ForeignKey(
        Register, verbose_name=_("register"), on_delete=models.PROTECT, related_name="parked"
    )
    cart = models.OneToOneField(Cart, on_delete=models.CASCADE, related_name="+")
    parked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("parked by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    parked_at = models.DateTimeField(_("parked at"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("parked sale")
        verbose_name_plural = _("parked sales")
        ordering = ["parked_at", "id"]

    def __str__(self) -> str:
        return f"{self.register_id}: {self.cart_id}"
