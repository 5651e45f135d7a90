"""The fiscal journal (issue 15): every ticket, credit note, invoice, Z report, closing and
technical event (JET) is a record numbered without gaps in its own chain and chained by
SHA-256 to the record before it. The records are append-only (a database trigger refuses
UPDATE, DELETE and TRUNCATE); each chain's head row holds the last number and hash and is
the one row locked to append, so chains never wait on each other. The canonical form and
the hash are in pos/fiscal/canonical.py and docs/fiscal.md."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory.models import Location
from pos.exceptions import JournalRecordImmutable
from pos.models.registers import Register
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS

GENESIS_HASH = "0" * 64


class JournalKind(models.TextChoices):
    TICKET = "ticket", _("ticket")
    CREDIT_NOTE = "credit_note", _("credit note")
    INVOICE = "invoice", _("invoice")
    Z_REPORT = "z_report", _("Z report")
    CLOSING_DAY = "closing_day", _("daily closing")
    CLOSING_MONTH = "closing_month", _("monthly closing")
    CLOSING_YEAR = "closing_year", _("yearly closing")
    EVENT = "event", _("technical event (JET)")


class JournalEventCode(models.TextChoices):
    """The codes of the technical events log (JET). Stable: they are hashed."""

    SESSION_OPEN = "session_open", _("register session opened")
    SESSION_CLOSE = "session_close", _("register session closed")
    CLOSING = "closing", _("closing produced")
    ARCHIVE_EXPORT = "archive_export", _("archive exported")
    INTEGRITY_CHECK = "integrity_check", _("integrity check")
    VAT_RATE_CHANGE = "vat_rate_change", _("VAT rate changed")
    PRICE_CHANGE = "price_change", _("price changed")
    RECEIPT_SETTINGS_CHANGE = "receipt_settings_change", _("receipt settings changed")
    SOFTWARE_VERSION = "software_version", _("software version changed")
    REPRINT = "reprint", _("receipt reprinted (duplicate)")
    VOID = "void", _("sale voided")
    OFFLINE_START = "offline_start", _("offline mode started")
    OFFLINE_END = "offline_end", _("offline mode ended")
    TAMPERING_ATTEMPT = "tampering_attempt", _("refused change to the journal")


class JournalChain(models.Model):
    """The head of one chain: a register's, a store's (register null) or the company's
    (both null) sequence of one kind. Locked FOR UPDATE to append."""

    register = models.ForeignKey(
        Register,
        verbose_name=_("register"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="journal_chains",
    )
    store = models.ForeignKey(
        Location,
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="journal_chains",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=JournalKind.choices)
    last_number = models.PositiveBigIntegerField(_("last number"), default=0)
    last_hash = models.CharField(_("last hash"), max_length=64, default=GENESIS_HASH)
    grand_total = models.DecimalField(
        _("perpetual grand total"),
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        default=Decimal("0.00"),
        help_text=_(
            "On a register's ticket chain: the register's tickets minus its credit notes "
            "since its first record (each record carries it after itself)."
        ),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("fiscal journal chain")
        verbose_name_plural = _("fiscal journal chains")
        constraints = [
            models.CheckConstraint(
                condition=Q(register__isnull=True) | Q(store__isnull=True),
                name="pos_journalchain_one_scope",
            ),
            models.UniqueConstraint(
                fields=["register", "kind"],
                condition=Q(register__isnull=False),
                name="pos_journalchain_register_kind",
            ),
            models.UniqueConstraint(
                fields=["store", "kind"],
                condition=Q(register__isnull=True, store__isnull=False),
                name="pos_journalchain_store_kind",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(register__isnull=True, store__isnull=True),
                name="pos_journalchain_company_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.scope_id or '-'}:{self.kind}"

    @property
    def scope(self) -> str:
        if self.register_id is not None:
            return "register"
        return "store" if self.store_id is not None else "company"

    @property
    def scope_id(self) -> int | None:
        return self.register_id if self.register_id is not None else self.store_id


def _refused(operation: str, records: list[dict], fields: list[str] | None = None):
    """Log the attempt (tampering_attempt, kept whatever the caller's transaction
    becomes) and refuse it, before any SQL reaches the table."""
    from pos.fiscal.tampering import tampering_attempt_record

    tampering_attempt_record(operation=operation, records=records, fields=fields or [])
    return JournalRecordImmutable(operation=operation, records=len(records))


class JournalRecordQuerySet(models.QuerySet):
    """Appending is the only write: ``update()``, ``delete()`` (and ``bulk_update()``,
    which updates) are refused here, before the database's trigger, and logged."""

    SHOWN = 50  # records named in the logged attempt

    def _targets(self) -> list[dict]:
        rows = self.order_by("pk").values_list("pk", "chain_id", "number")[: self.SHOWN]
        return [{"id": pk, "chain": chain, "number": number} for pk, chain, number in rows]

    def update(self, **kwargs):
        raise _refused("update", self._targets(), sorted(kwargs))

    def delete(self):
        raise _refused("delete", self._targets())

    def _raw_delete(self, using):
        raise _refused("delete", self._targets())


class JournalRecord(models.Model):
    """One record of a chain. Never changed: a correction is a new record. Saving a
    record that exists, or deleting one, is refused (and logged) before the database's
    trigger refuses it."""

    chain = models.ForeignKey(
        JournalChain, verbose_name=_("chain"), on_delete=models.PROTECT, related_name="records"
    )
    number = models.PositiveBigIntegerField(_("number"))
    kind = models.CharField(_("kind"), max_length=20, choices=JournalKind.choices)
    event_code = models.CharField(
        _("event code"), max_length=40, blank=True, choices=JournalEventCode.choices
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    payload = models.JSONField(_("payload"))
    previous_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)
    created_at = models.DateTimeField(_("created at"))

    objects = JournalRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("fiscal journal record")
        verbose_name_plural = _("fiscal journal records")
        ordering = ["chain", "number"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "number"], name="pos_journalrecord_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="pos_journalrecord_from_1"),
            models.CheckConstraint(
                condition=(Q(kind="event") & ~Q(event_code=""))
                | (~Q(kind="event") & Q(event_code="")),
                name="pos_journalrecord_event_code",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.chain} #{self.number}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding or kwargs.get("force_update"):
            raise _refused("save", self._target(), sorted(kwargs.get("update_fields") or []))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise _refused("delete", self._target())

    def _target(self) -> list[dict]:
        return [{"id": self.pk, "chain": self.chain_id, "number": self.number}]
