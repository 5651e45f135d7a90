"""Which register session took (or gave back) the money: payments know only their order
and channel (payments sits below pos and cannot point at a register), so the till writes
this link whenever it takes a payment or settles a refund (``pos.session_tenders``).

A row is written **before** the money is asked for, under the session's lock, holding
the idempotency key the till passes to payments (``key``); the payment (``payment``) or
the refund operation (``operation``) it produced is filled in once payments answers.
A payment recorded in the till's own transaction (cash) is linked in that transaction.
So a payment never exists without the session that started it, even if the till dies
between the two steps: its key names it (``pos.session_figures`` reads both).
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from payments.models import Payment, PaymentOperation
from pos.models.sessions import RegisterSession


class SessionTender(models.Model):
    """One payment taken, or one refund given, at a register in one of its sessions."""

    class Kind(models.TextChoices):
        SALE = "sale", _("taken")
        REFUND = "refund", _("given back")

    session = models.ForeignKey(
        RegisterSession,
        verbose_name=_("session"),
        on_delete=models.PROTECT,
        related_name="tenders",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    key = models.CharField(
        _("idempotency key"),
        max_length=255,
        null=True,
        blank=True,
        unique=True,
        help_text=_(
            "The key the till gave payments: the payment with this key (a refund: the "
            "operations whose key starts with it and a colon)."
        ),
    )
    payment = models.OneToOneField(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    operation = models.OneToOneField(
        PaymentOperation,
        verbose_name=_("refund"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("session tender")
        verbose_name_plural = _("session tenders")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["sale", "refund"]), name="pos_session_tender_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(kind="sale", operation__isnull=True)
                | Q(kind="refund", payment__isnull=True),
                name="pos_session_tender_sale_payment_refund_operation",
            ),
            models.CheckConstraint(
                condition=Q(key__isnull=False)
                | Q(payment__isnull=False)
                | Q(operation__isnull=False),
                name="pos_session_tender_names_its_money",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.kind} {self.key or self.payment_id or self.operation_id}"
