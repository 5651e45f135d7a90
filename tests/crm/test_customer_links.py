"""Every model that points at a customer is looked after when customers are merged and
when one is erased: listed in ``crm.services.links`` with its app's functions, and
those functions are the ones crm's merge and erasure call."""

from __future__ import annotations

import inspect

from django.apps import apps

from crm.services import erasure, merging
from crm.services.links import CUSTOMER_LINKS
from customers.models import Customer


def _models_pointing_at_customers() -> set[str]:
    return {
        model._meta.label
        for model in apps.get_models(include_auto_created=True)
        for field in model._meta.get_fields(include_hidden=True)
        if field.concrete
        and (field.many_to_one or field.one_to_one)
        and field.related_model is Customer
    }


def test_every_model_with_a_key_to_customer_has_a_reassign_and_an_erase_function():
    pointing = _models_pointing_at_customers()

    missing = pointing - set(CUSTOMER_LINKS)

    assert missing == set(), f"add these models to crm.services.links.CUSTOMER_LINKS: {missing}"
    assert set(CUSTOMER_LINKS) - pointing == set(), "models listed that no longer point here"


def test_the_listed_functions_are_the_ones_merge_and_erase_call():
    merge_source = inspect.getsource(merging.customer_merge)
    erase_source = inspect.getsource(erasure.customer_erase)

    for label, link in CUSTOMER_LINKS.items():
        assert f"{link.reassign.__name__}(" in merge_source, label
        assert f"{link.erase.__name__}(" in erase_source, label


def test_no_customer_model_is_a_many_to_many_target():
    # A many-to-many table would need its own handling: none today.
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if field.many_to_many and field.concrete:
                assert field.related_model is not Customer, model._meta.label
