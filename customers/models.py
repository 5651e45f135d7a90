from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from customers.phones import phone_display
from unicommerce.channels.models import SalesChannel
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS


class Customer(models.Model):
    """One customer, recognised on every channel by email and/or phone (E.164).

    A customer merged into another keeps its row (``merged_into``) so links to it can be
    followed; an erased one keeps its row, without personal data, for the accounting
    records that point at it.
    """

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    email = models.EmailField(_("email"), null=True, blank=True, unique=True)
    phone = models.CharField(_("phone (E.164)"), max_length=16, null=True, blank=True, unique=True)
    tags = ArrayField(
        models.CharField(max_length=50), verbose_name=_("tags"), default=list, blank=True
    )
    source_channel = models.ForeignKey(
        SalesChannel,
        verbose_name=_("first seen on"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
    )
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Figures computed from orders (orders.segments), kept here to filter and export.
    class Behaviour(models.TextChoices):
        NONE = "none", _("no purchase yet")
        ONLINE_ONLY = "online_only", _("online only")
        STORE_ONLY = "store_only", _("store only")
        OMNICHANNEL = "omnichannel", _("omnichannel")

    order_count = models.PositiveIntegerField(_("orders"), default=0)
    lifetime_value = models.DecimalField(
        _("lifetime value"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0
    )
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    preferred_channel = models.ForeignKey(
        SalesChannel,
        verbose_name=_("preferred channel"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    behaviour = models.CharField(
        _("channel behaviour"), max_length=20, choices=Behaviour.choices, default=Behaviour.NONE
    )
    rfm_recency = models.PositiveSmallIntegerField(_("R"), null=True, blank=True)
    rfm_frequency = models.PositiveSmallIntegerField(_("F"), null=True, blank=True)
    rfm_monetary = models.PositiveSmallIntegerField(_("M"), null=True, blank=True)
    rfm_segment = models.CharField(_("RFM segment"), max_length=30, blank=True, db_index=True)
    figures_updated_at = models.DateTimeField(_("figures updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(email__isnull=False)
                | Q(phone__isnull=False)
                | Q(merged_into__isnull=False)
                | Q(erased_at__isnull=False),
                name="customer_has_email_or_phone",
            ),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or self.phone or f"#{self.pk}"

    @property
    def display_name(self) -> str:
        """What a seller can say aloud: the full name, else the phone as it is written at
        home (``06 12 34 56 78``), else the e-mail, else "Customer 42"."""
        name = f"{self.first_name} {self.last_name}".strip()
        if name:
            return name
        if self.phone:
            return phone_display(self.phone)
        if self.email:
            return self.email
        return gettext("Customer %(number)s") % {"number": self.pk}


class Address(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="addresses"
    )
    label = models.CharField(_("label"), max_length=50, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    line1 = models.CharField(_("address"), max_length=255)
    line2 = models.CharField(_("address (continued)"), max_length=255, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=16)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="FR")
    phone = models.CharField(_("phone (E.164)"), max_length=16, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    is_default = models.BooleanField(_("default address"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["-is_default", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_default=True),
                name="address_one_default_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line1}, {self.postal_code} {self.city}"


class Consent(models.Model):
    """One decision of a customer about being contacted: an append-only history, the
    latest row per kind is what holds now."""

    class Kind(models.TextChoices):
        SMS_MARKETING = "sms_marketing", _("SMS marketing")
        EMAIL_MARKETING = "email_marketing", _("email marketing")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="consents"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(
        _("source"), max_length=100, help_text=_("Where it was given: web form, till, admin…")
    )
    channel = models.ForeignKey(
        SalesChannel,
        verbose_name=_("channel"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("at"), db_index=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "kind", "-at"], name="consent_latest_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.granted}"


class CustomerNote(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="notes"
    )
    body = models.TextField(_("note"))
    channel = models.ForeignKey(
        SalesChannel,
        verbose_name=_("channel"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.body[:50]


class LoginCode(models.Model):
    """A one-time code sent by SMS or email: to sign in on a front end (no password), or
    to prove a new e-mail or phone before it replaces the customer's (``target``: the
    new contact, which received the code). Only the code's hash is kept."""

    class Purpose(models.TextChoices):
        SIGN_IN = "sign_in", _("sign in")
        CONTACT_CHANGE = "contact_change", _("change of e-mail or phone")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.SIGN_IN)
    target = models.CharField(max_length=254, blank=True)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "-created_at"], name="login_code_latest_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.created_at:%Y-%m-%d %H:%M}"


class AccessToken(models.Model):
    """A customer's bearer token for their account on one channel's front end. Only the
    SHA-256 of the token is kept."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="access_tokens")
    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="+")
    key_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("customer access token")
        verbose_name_plural = _("customer access tokens")

    def __str__(self) -> str:
        return f"{self.customer_id} {self.key_hash[:8]}…"
