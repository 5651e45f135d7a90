"""Customers' errors: typed, carrying their data (``unicommerce.exceptions``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from unicommerce.exceptions import DomainError, InvalidInput, NotFound

if TYPE_CHECKING:
    from customers.models import Customer


class InvalidPhone(InvalidInput):
    code = "invalid_phone"

    def __init__(self, raw: str) -> None:
        super().__init__(_("“%(phone)s” is not a valid phone number.") % {"phone": raw}, phone=raw)


class InvalidEmail(InvalidInput):
    code = "invalid_email"

    def __init__(self, raw: str) -> None:
        super().__init__(_("“%(email)s” is not a valid email address.") % {"email": raw}, email=raw)


class IdentityRequired(InvalidInput):
    code = "identity_required"

    def __init__(self) -> None:
        super().__init__(_("Give an email address or a phone number."))


class IdentityConflict(DomainError):
    code = "identity_conflict"
    http_status = 409

    def __init__(self, email: str, phone: str) -> None:
        super().__init__(
            _(
                "The email %(email)s and the phone %(phone)s belong to two different "
                "customers; merge them first."
            )
            % {"email": email, "phone": phone},
            email=email,
            phone=phone,
        )


class MergeRefused(DomainError):
    code = "merge_refused"
    http_status = 409


class MergeConflict(DomainError):
    """Rows of the duplicate could not follow the survivor (a uniqueness rule that the
    app's ``<app>_customer_reassign`` did not resolve)."""

    code = "merge_conflict"
    http_status = 409


class CustomerIdentityTaken(DomainError):
    code = "identity_taken"
    http_status = 409

    def __init__(self, field: str, value: str) -> None:
        message = (
            _("This email address is already used by another customer.")
            if field == "email"
            else _("This phone number is already used by another customer.")
        )
        super().__init__(message, field=field, value=value)


class CustomerErased(DomainError):
    code = "customer_erased"
    http_status = 409

    def __init__(self, customer: Customer) -> None:
        super().__init__(
            _("Customer #%(id)s was erased; their record cannot change.") % {"id": customer.pk},
            customer_id=customer.pk,
        )


class CustomerMerged(DomainError):
    code = "customer_merged"
    http_status = 409

    def __init__(self, customer: Customer) -> None:
        super().__init__(
            _("Customer #%(id)s was merged into #%(into)s; change that one.")
            % {"id": customer.pk, "into": customer.merged_into_id},
            customer_id=customer.pk,
            merged_into=customer.merged_into_id,
        )


class InvalidConsentKind(InvalidInput):
    code = "invalid_consent_kind"

    def __init__(self, kind: str) -> None:
        super().__init__(
            _("Unknown consent kind “%(kind)s”.") % {"kind": kind},
            kind=kind,
            known=_consent_kinds(),
        )


class AddressInvalid(InvalidInput):
    code = "invalid_address"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


class AddressNotFound(NotFound):
    def __init__(self, address_id: object) -> None:
        super().__init__(
            _("No address #%(id)s for this customer.") % {"id": address_id}, address_id=address_id
        )


class LoginCodeInvalid(InvalidInput):
    code = "login_code_invalid"

    def __init__(self) -> None:
        super().__init__(
            _("This code is wrong or has expired. Ask for a new one."),
        )


class ContactUnchanged(InvalidInput):
    code = "contact_unchanged"

    def __init__(self) -> None:
        super().__init__(_("This is already your e-mail address or phone number."))


class ContactChangeOne(InvalidInput):
    code = "contact_change_one"

    def __init__(self) -> None:
        super().__init__(_("Give either a new e-mail address or a new phone number."))


def _consent_kinds() -> list[str]:
    from customers.models import Consent  # models import this module (phones)

    return list(Consent.Kind.values)
