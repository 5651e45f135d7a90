from django.db.models import QuerySet

from pos.models import Register


def registers_for(user) -> QuerySet[Register]:
    """The registers a seller may open: those of their stores (any, for managers)."""
    registers = Register.objects.filter(is_active=True, location__is_active=True).select_related(
        "location", "channel"
    )
    if user.has_perm("pos.sell_anywhere"):
        return registers
    if not user.has_perm("pos.sell"):
        return registers.none()
    return registers.filter(location__staff=user)
