"""A register's sessions (opening count to closing count), the cash moved in and out
during one, what was counted per tender at its close, and its Z report.

Transitions and figures are written by ``pos.sessions`` only. ``CashMove`` is append-only
(a database trigger refuses UPDATE and DELETE, migration 0003): a mistake is reversed by
a new move pointing at it (``reverses``). ``SessionCount`` and ``ZReport`` are written in
the closing's one transaction and never changed after.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pos.models.registers import Register
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS


def _money(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs
    )


def _user(related_name: str, verbose_name, **kwargs) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        on_delete=models.PROTECT,
        related_name=related_name,
        **kwargs,
    )


class RegisterSession(models.Model):
    """One register's day (or shift): opened with a counted float, closed with a count
    per tender. ``opening_control -> open -> closing_control -> closed``, never back."""

    class Status(models.TextChoices):
        OPENING_CONTROL = "opening_control", _("opening control")
        OPEN = "open", _("open")
        CLOSING_CONTROL = "closing_control", _("closing control")
        CLOSED = "closed", _("closed")

    register = models.ForeignKey(
        Register, verbose_name=_("register"), on_delete=models.PROTECT, related_name="sessions"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    currency = models.CharField(_("currency"), max_length=3)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_by = _user("+", _("started by"))
    opened_by = _user("+", _("opened by"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    opening_counted_amount = _money(_("cash counted at opening"), null=True, blank=True)
    opening_denominations = models.JSONField(
        _("opening count by denomination"), null=True, blank=True
    )
    previous_closing_amount = _money(
        _("cash counted at the previous closing"), null=True, blank=True
    )
    opening_difference_amount = _money(
        _("opening difference"),
        null=True,
        blank=True,
        help_text=_("Counted at opening minus counted at the previous closing."),
    )
    closing_started_at = models.DateTimeField(_("closing started at"), null=True, blank=True)
    closing_started_by = _user("+", _("closing started by"), null=True, blank=True)
    closed_by = _user("+", _("closed by"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closing_comment = models.TextField(_("closing comment"), blank=True)
    closing_approved_by = _user("+", _("closing approved by"), null=True, blank=True)

    class Meta:
        verbose_name = _("register session")
        verbose_name_plural = _("register sessions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["opening_control", "open", "closing_control", "closed"]),
                name="pos_session_status_known",
            ),
            models.UniqueConstraint(
                fields=["register"],
                condition=~Q(status="closed"),
                name="pos_session_one_not_closed_per_register",
            ),
            models.CheckConstraint(
                condition=Q(opening_counted_amount__gte=0), name="pos_session_opening_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(status="opening_control")
                | Q(
                    opened_at__isnull=False,
                    opened_by__isnull=False,
                    opening_counted_amount__isnull=False,
                ),
                name="pos_session_open_has_count",
            ),
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(closed_at__isnull=False, closed_by__isnull=False),
                name="pos_session_closed_has_closer",
            ),
        ]
        permissions = [
            (
                "approve_cash",
                _("Can approve cash moves and closing differences above the limits"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.register.code} {self.created_at:%Y-%m-%d %H:%M} ({self.status})"


class CashMove(models.Model):
    """Cash put into or taken out of the drawer during a session, other than sales:
    signed (``+`` in, ``-`` out). Append-only; ``client_id`` makes a retried request the
    same move."""

    class Kind(models.TextChoices):
        FLOAT = "float", _("float")
        BANK_DROP = "bank_drop", _("bank drop")
        EXPENSE = "expense", _("expense")
        CORRECTION = "correction", _("correction")

    session = models.ForeignKey(
        RegisterSession,
        verbose_name=_("session"),
        on_delete=models.PROTECT,
        related_name="cash_moves",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    amount = _money(_("amount"), help_text=_("Positive into the drawer, negative out of it."))
    reason = models.CharField(_("reason"), max_length=255)
    client_id = models.CharField(_("client id"), max_length=64, unique=True)
    created_by = _user("+", _("created by"))
    approved_by = _user("+", _("approved by"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
    )

    class Meta:
        verbose_name = _("cash move")
        verbose_name_plural = _("cash moves")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["float", "bank_drop", "expense", "correction"]),
                name="pos_cash_move_kind_known",
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="pos_cash_move_not_zero"),
            models.CheckConstraint(condition=~Q(reason=""), name="pos_cash_move_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class SessionCount(models.Model):
    """What the session should hold in one tender, what was counted, the difference."""

    session = models.ForeignKey(
        RegisterSession, verbose_name=_("session"), on_delete=models.PROTECT, related_name="counts"
    )
    tender = models.CharField(_("tender"), max_length=20)
    expected_amount = _money(_("expected"))
    counted_amount = _money(_("counted"))
    difference_amount = _money(_("difference"))
    blind = models.BooleanField(_("blind count"), default=False)
    approved_by = _user("+", _("approved by"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("session count")
        verbose_name_plural = _("session counts")
        ordering = ["session", "tender"]
        constraints = [
            models.UniqueConstraint(fields=["session", "tender"], name="pos_count_one_per_tender"),
            models.CheckConstraint(
                condition=Q(counted_amount__gte=0), name="pos_count_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tender}: {self.counted_amount} ({self.difference_amount:+})"


class ZReport(models.Model):
    """The session's closing figures, written with ``closed`` in one transaction."""

    session = models.OneToOneField(
        RegisterSession,
        verbose_name=_("session"),
        on_delete=models.PROTECT,
        related_name="z_report",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    payload = models.JSONField(_("figures"))

    class Meta:
        verbose_name = _("Z report")
        verbose_name_plural = _("Z reports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Z {self.session}"
