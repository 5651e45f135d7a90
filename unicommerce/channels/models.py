"""Where the retailer sells (SalesChannel) and who calls the API (ApiKey)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SalesChannel(models.Model):
    """Where the retailer sells: the web store, each physical store, a marketplace, the app."""

    class Kind(models.TextChoices):
        WEB = "web", _("web store")
        STORE = "store", _("physical store")
        MARKETPLACE = "marketplace", _("marketplace")
        APP = "app", _("mobile app")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    currency = models.CharField(_("currency"), max_length=3, default=settings.DEFAULT_CURRENCY)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("sales channel")
        verbose_name_plural = _("sales channels")
        ordering = ["code"]
        db_table = "catalog_saleschannel"  # created by the catalog app, kept on the move

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A key sent as ``Authorization: Bearer <key>``: a channel's key acts as that
    channel, a staff member's key acts as that user (with their permissions). Only a
    SHA-256 of the key is stored; the key is shown once, at creation.

    A channel's key is one of two kinds (docs/permissions.md):
    - *publishable* (``uck_pk_…``): made to ship inside a browser or a mobile app, so
      anyone may read it; it reads the catalogue, fills carts, checks out with remote
      payment methods and starts a customer's sign-in, nothing more;
    - *secret* (``uck_sk_…``): the channel's own back end (reservations, the stock feed,
      webhooks, order status); never in a browser.
    """

    class Kind(models.TextChoices):
        PUBLISHABLE = "publishable", _("publishable (storefront, may ship in a browser)")
        SECRET = "secret", _("secret (integration, server to server)")

    channel = models.ForeignKey(
        SalesChannel,
        verbose_name=_("channel"),
        on_delete=models.CASCADE,
        related_name="api_keys",
        null=True,
        blank=True,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff user"),
        on_delete=models.CASCADE,
        related_name="api_keys",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.SECRET)
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        db_table = "catalog_apikey"  # created by the catalog app, kept on the move
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__isnull=False, user__isnull=True)
                | Q(channel__isnull=True, user__isnull=False),
                name="api_key_channel_or_user",
            ),
            # A staff member's key acts as that person: it is never publishable.
            models.CheckConstraint(
                condition=Q(channel__isnull=False) | Q(kind="secret"),
                name="api_key_staff_key_secret",
            ),
        ]

    def __str__(self) -> str:
        owner = self.channel.code if self.channel_id else str(self.user)
        return f"{owner}: {self.name} ({self.prefix}…)"
