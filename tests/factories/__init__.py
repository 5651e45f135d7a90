"""factory_boy factories for every model the tests build."""

from decimal import Decimal

import factory
from django.contrib.auth.models import Permission, User

from catalog.barcodes import ean13_from
from catalog.models import Barcode, Product, Variant
from customers.models import Customer
from inventory.models import Location
from pos.models import Register
from unicommerce.channels.models import SalesChannel


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Sam"
    password = factory.PostGenerationMethodCall("set_password", "secret-pass")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        """``role="seller"``: the permissions of that staff role (unicommerce.access.roles),
        and membership of its group (what role-based settings such as the manual discount
        caps look at); the group itself carries no permission here."""
        if extracted:
            from django.contrib.auth.models import Group

            from unicommerce.access.roles import GROUP_NAMES, role_permissions

            self.user_permissions.add(*role_permissions(extracted))
            self.groups.add(Group.objects.get_or_create(name=GROUP_NAMES[extracted])[0])

    @factory.post_generation
    def permissions(self, create, extracted, **kwargs):
        for codename in extracted or ():
            app_label, code = codename.split(".")
            self.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=code)
            )
        self.save()


class SalesChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesChannel
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    kind = SalesChannel.Kind.WEB


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ["code"]
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"location-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    kind = Location.Kind.STORE

    @factory.post_generation
    def channels(self, create, extracted, **kwargs):
        if extracted:
            self.channels.set(extracted)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    vat_rate = Decimal("20.0")


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant
        skip_postgeneration_save = True

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU{n:05d}")
    attributes = factory.LazyFunction(lambda: {"size": "M"})
    price_amount = Decimal("19.90")
    barcode = factory.RelatedFactory(
        "tests.factories.BarcodeFactory", factory_related_name="variant"
    )


class BarcodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Barcode

    code = factory.Sequence(lambda n: ean13_from(f"299{n:09d}"))


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Durand{n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


class RegisterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Register

    code = factory.Sequence(lambda n: f"till-{n}")
    name = factory.Sequence(lambda n: f"Till {n}")
    location = factory.SubFactory(LocationFactory)
    channel = factory.SubFactory(SalesChannelFactory, kind=SalesChannel.Kind.STORE)
