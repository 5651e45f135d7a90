"""Customers' business operations, one module per area. The admin, the API, the POS and
the apps above customers call these; none of them writes customer models itself.

- ``identity``: recognise or create a customer from an email and/or a phone
- ``profile``: consents (append-only), addresses, notes, tags, names and contact details
- ``merging``: possible duplicates, and customers' part of a merge
- ``gdpr``: customers' part of the GDPR export and of an erasure (anonymisation)

Merging, erasing and exporting a customer involve every app: crm orchestrates them
(``crm.services``, ``crm.selectors``) and calls the parts here first.

Sign-in codes and customer tokens are in ``customers.auth``.
"""

from customers.services.gdpr import (
    ERASURE_SOURCE,
    Erasure,
    customers_customer_erase,
    customers_customer_export,
)
from customers.services.identity import (
    IdentityConflict,
    IdentityRequired,
    InvalidEmail,
    customer_find,
    customer_identify,
    email_normalised,
)
from customers.services.merging import (
    DuplicateCandidate,
    DuplicateReason,
    MergeConflict,
    MergeRefused,
    customer_duplicates,
    customer_rows_reassign,
    customers_customer_reassign,
    customers_merge_lock,
)
from customers.services.profile import (
    ADDRESS_FIELDS,
    AddressInvalid,
    AddressNotFound,
    CustomerErased,
    CustomerIdentityTaken,
    CustomerMerged,
    InvalidConsentKind,
    address_add,
    address_delete,
    address_set_default,
    address_update,
    consent_record,
    customer_consents,
    customer_note_add,
    customer_tags_set,
    customer_update,
    tags_normalised,
)

__all__ = [
    "ADDRESS_FIELDS",
    "ERASURE_SOURCE",
    "AddressInvalid",
    "AddressNotFound",
    "CustomerErased",
    "CustomerIdentityTaken",
    "CustomerMerged",
    "DuplicateCandidate",
    "DuplicateReason",
    "Erasure",
    "IdentityConflict",
    "IdentityRequired",
    "InvalidConsentKind",
    "InvalidEmail",
    "MergeConflict",
    "MergeRefused",
    "address_add",
    "address_delete",
    "address_set_default",
    "address_update",
    "consent_record",
    "customer_consents",
    "customer_duplicates",
    "customer_find",
    "customer_identify",
    "customer_note_add",
    "customer_rows_reassign",
    "customer_tags_set",
    "customer_update",
    "customers_customer_erase",
    "customers_customer_export",
    "customers_customer_reassign",
    "customers_merge_lock",
    "email_normalised",
    "tags_normalised",
]
