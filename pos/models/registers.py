from django.db import models
from django.utils.translation import gettext_lazy as _

from inventory.models import Location
from unicommerce.channels.models import SalesChannel


class Register(models.Model):
    """A till in a store. It sells on the store's channel, from the store's stock."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    location = models.ForeignKey(
        Location,
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        related_name="registers",
        limit_choices_to={"kind": Location.Kind.STORE},
    )
    channel = models.ForeignKey(
        SalesChannel,
        verbose_name=_("channel"),
        on_delete=models.PROTECT,
        related_name="registers",
        limit_choices_to={"kind": SalesChannel.Kind.STORE},
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("register")
        verbose_name_plural = _("registers")
        ordering = ["location__name", "name"]
        permissions = [
            ("sell", _("Can sell at the registers of their stores")),
            ("sell_anywhere", _("Can sell at any register")),
        ]

    def __str__(self) -> str:
        return f"{self.location.name} — {self.name}"
