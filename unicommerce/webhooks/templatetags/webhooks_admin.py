"""What the back-office dashboard says about webhooks (templates/admin/index.html)."""

from django import template
from django.urls import reverse

from unicommerce.webhooks.models import WebhookDelivery, WebhookEndpoint

register = template.Library()


@register.simple_tag
def webhook_alerts(user) -> dict:
    """Disabled endpoints and dead deliveries, each with the admin list showing them;
    only what ``user`` may view, and nothing at all when everything is fine."""
    alerts = {}
    if user.has_perm("webhooks.view_webhookendpoint"):
        disabled = WebhookEndpoint.objects.filter(is_active=False).count()
        if disabled:
            url = reverse("admin:webhooks_webhookendpoint_changelist")
            alerts["disabled"] = disabled
            alerts["disabled_url"] = f"{url}?is_active__exact=0"
    if user.has_perm("webhooks.view_webhookdelivery"):
        dead = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DEAD).count()
        if dead:
            url = reverse("admin:webhooks_webhookdelivery_changelist")
            alerts["dead"] = dead
            alerts["dead_url"] = f"{url}?status__exact=dead"
    return alerts
