"""Back-office for the catalog. Saves go through catalog.services so every change of a
product, price or publication lands in the edit history."""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from catalog import images, services
from catalog.exceptions import InvalidImage
from catalog.models import (
    Barcode,
    CatalogChange,
    Category,
    ChannelPrice,
    Product,
    ProductImage,
    Variant,
)
from unicommerce.admin_widgets import AttributesField
from unicommerce.channels.models import SalesChannel
from unicommerce.exceptions import DomainError
from unicommerce.money import money_format


def _saved_through_services(formset) -> None:
    """The inline's rows are written by services, not by ``formset.save()``; the admin's
    change message still reads what the formset would have saved."""
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class HistoryInline(ReadOnlyInline):
    model = CatalogChange
    fk_name = "product"
    fields = ["created_at", "kind", "variant", "channel", "changes", "created_by"]
    readonly_fields = fields
    verbose_name_plural = _("edit history")


class VariantForm(forms.ModelForm):
    """A variant's attributes as name/value rows (size, colour…), not raw JSON."""

    attributes = AttributesField(
        label=_("attributes"),
        required=False,
        help_text=_("One row per attribute; a row left empty is removed."),
    )

    class Meta:
        model = Variant
        fields = ["product", "sku", "attributes", "price_amount", "currency", "is_active"]


def barcodes_shown(variant: Variant) -> str:
    """One barcode per line, never broken inside a code."""
    if not variant.pk:
        return ""
    return format_html(
        '<ul class="barcode-list">{}</ul>',
        format_html_join("", "<li>{}</li>", ((b.code,) for b in variant.barcodes.all())),
    )


class VariantInline(admin.TabularInline):
    model = Variant
    form = VariantForm
    extra = 0
    can_delete = False
    fields = ["sku", "attributes", "price_amount", "is_active", "barcode_list"]
    readonly_fields = ["barcode_list"]
    show_change_link = True

    @admin.display(description=_("barcodes"))
    def barcode_list(self, variant: Variant) -> str:
        return barcodes_shown(variant)


def _picture(name: str | None, thumbnails: dict | None, size: int) -> str:
    """A small preview, through the storage (``storage.url()``), or nothing."""
    if not name:
        return ""
    url = images.thumbnail_url(name, thumbnails or {}, 160)
    return format_html(
        '<img src="{}" alt="" width="{}" style="height:auto;max-height:{}px;object-fit:contain">',
        url,
        size,
        size,
    )


class ProductImageForm(forms.ModelForm):
    class Meta:
        model = ProductImage
        fields = ["image", "variant", "alt", "position"]

    def clean_image(self):
        file = self.cleaned_data.get("image")
        if isinstance(file, UploadedFile):  # a new file: the rules of catalog.images
            try:
                images.image_check(file)
            except InvalidImage as error:
                raise ValidationError(error.message, code=error.code) from None
        return file


class ProductImageFormSet(forms.BaseInlineFormSet):
    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        # Only this product's variants can be chosen (the services refuse the others too).
        form.fields["variant"].queryset = Variant.objects.filter(product_id=self.instance.pk)


class ProductImageInline(admin.TabularInline):
    """Pictures, through catalog.images: checked, stored under random names, thumbnails
    made by a worker after the save."""

    model = ProductImage
    form = ProductImageForm
    formset = ProductImageFormSet
    extra = 1
    fields = ["preview", "image", "variant", "alt", "position"]
    readonly_fields = ["preview"]
    verbose_name_plural = _("pictures")

    @admin.display(description=_("preview"))
    def preview(self, image: ProductImage) -> str:
        return _picture(image.image.name if image.pk else None, image.thumbnails, 80)


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name", "slug", "parent", "position"]

    def clean_parent(self):
        parent = self.cleaned_data["parent"]
        node = parent
        while self.instance.pk and node is not None:
            if node.pk == self.instance.pk:
                raise ValidationError(_("A category cannot be moved under itself."))
            node = node.parent
        return parent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ["name", "parent", "position", "slug"]
    list_filter = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = services.category_save(
            category=obj if change else None,
            name=data["name"],
            slug=data["slug"],
            parent=data["parent"],
            position=data["position"],
        )
        obj.pk = saved.pk


class ProductForm(forms.ModelForm):
    published_on = forms.ModelMultipleChoiceField(
        SalesChannel.objects.filter(is_active=True),
        required=False,
        widget=admin.widgets.FilteredSelectMultiple(_("channels"), is_stacked=False),
        label=_("published on"),
    )

    class Meta:
        model = Product
        fields = ["name", "brand", "description", "category", "vat_rate", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["published_on"].initial = list(self.instance.channels.all())


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductForm
    list_display = ["name", "category", "brand", "vat_rate", "is_active", "updated_at"]
    list_filter = ["is_active", "category", "vat_rate", "channels", "brand"]
    search_fields = ["name", "brand", "variants__sku", "variants__barcodes__code"]
    list_select_related = ["category"]
    inlines = [VariantInline, ProductImageInline, HistoryInline]
    actions = ["thumbnails_make_missing"]

    def get_queryset(self, request):
        # The list's preview: each product's first picture, in the same query.
        first = ProductImage.objects.filter(product=OuterRef("pk")).order_by(
            F("variant_id").asc(nulls_first=True), "position", "id"
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                picture_name=Subquery(first.values("image")[:1]),
                picture_thumbnails=Subquery(first.values("thumbnails")[:1]),
            )
        )

    @admin.display(description=_("picture"))
    def picture(self, product: Product) -> str:
        return _picture(product.picture_name, product.picture_thumbnails, 48)

    def get_list_display(self, request):
        return ["picture", *super().get_list_display(request)]

    @admin.action(description=_("Make the missing thumbnails of their pictures"))
    def thumbnails_make_missing(self, request, queryset):
        waiting = ProductImage.objects.filter(
            product__in=queryset, thumbnails_made_at__isnull=True
        ).values_list("pk", flat=True)
        for image_id in waiting:
            transaction.on_commit(partial(images.thumbnails_enqueue, image_id))

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.product_update(
                product=obj,
                user=request.user,
                **{f: data[f] for f in form.changed_data if f in services.PRODUCT_FIELDS},
            )
        else:
            created = services.product_create(
                name=data["name"],
                vat_rate=data["vat_rate"],
                brand=data["brand"],
                description=data["description"],
                category=data["category"],
                user=request.user,
            )
            obj.pk = created.pk
            obj._state.adding = False
        services.product_publish(product=obj, channels=data["published_on"], user=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is ProductImage:
            return self._save_pictures(request, form.instance, formset)
        if formset.model is not Variant:
            return super().save_formset(request, form, formset, change)
        _saved_through_services(formset)
        for variant_form in formset.forms:
            if not variant_form.has_changed() or not variant_form.cleaned_data:
                continue
            data = variant_form.cleaned_data
            if variant_form.instance.pk:
                services.variant_update(
                    variant=variant_form.instance,
                    user=request.user,
                    **{
                        f: data[f]
                        for f in variant_form.changed_data
                        if f in services.VARIANT_FIELDS
                    },
                )
            else:
                services.variant_create(
                    product=form.instance,
                    sku=data["sku"],
                    price_amount=data["price_amount"],
                    attributes=data["attributes"],
                    user=request.user,
                )
        return None

    def _save_pictures(self, request, product: Product, formset) -> None:
        _saved_through_services(formset)
        for picture_form in formset.forms:
            data = picture_form.cleaned_data
            picture = picture_form.instance
            if not data:
                continue
            if data.get("DELETE"):
                if picture.pk:
                    images.product_image_delete(image=picture, user=request.user)
                continue
            if not picture_form.has_changed():
                continue
            if picture.pk is None:
                images.product_image_add(
                    product=product,
                    file=data["image"],
                    variant=data.get("variant"),
                    alt=data.get("alt") or "",
                    position=data.get("position"),
                    user=request.user,
                )
                continue
            changed = picture_form.changed_data
            images.product_image_update(
                image=picture,
                file=data["image"] if "image" in changed else None,
                user=request.user,
                **{f: data[f] for f in changed if f in images.UPDATABLE},
            )


class BarcodeInline(admin.TabularInline):
    model = Barcode
    extra = 1
    fields = ["code", "created_at"]
    readonly_fields = ["created_at"]


class ChannelPriceInline(admin.TabularInline):
    model = ChannelPrice
    extra = 0
    fields = ["channel", "price_amount"]


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = [
        "sku",
        "product",
        "label",
        "barcode_list",
        "price_shown",
        "is_active",
    ]
    list_filter = ["is_active", "product__category", "product__vat_rate"]
    search_fields = ["sku", "barcodes__code", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]
    form = VariantForm
    fields = ["product", "sku", "attributes", "price_amount", "currency", "is_active"]
    inlines = [BarcodeInline, ChannelPriceInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("barcodes")

    def get_readonly_fields(self, request, obj=None):
        return ["product", "currency"] if obj else []

    @admin.display(description=_("barcodes"))
    def barcode_list(self, variant: Variant) -> str:
        return barcodes_shown(variant)

    @admin.display(description=_("price incl. VAT"), ordering="price_amount")
    def price_shown(self, variant: Variant) -> str:
        return money_format(variant.price_amount, variant.currency, get_language() or "en")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.variant_update(
                variant=obj,
                user=request.user,
                **{f: data[f] for f in form.changed_data if f in services.VARIANT_FIELDS},
            )
        else:
            created = services.variant_create(
                product=data["product"],
                sku=data["sku"],
                price_amount=data["price_amount"],
                attributes=data["attributes"],
                currency=data["currency"],
                user=request.user,
            )
            obj.pk = created.pk
            obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        variant = form.instance
        _saved_through_services(formset)
        try:
            for inline_form in formset.forms:
                data = inline_form.cleaned_data
                if not data or not (inline_form.has_changed() or data.get("DELETE")):
                    continue
                deleting = data.get("DELETE")
                if formset.model is Barcode:
                    if deleting and inline_form.instance.pk:
                        services.barcode_remove(
                            variant=variant, code=inline_form.instance.code, user=request.user
                        )
                    elif not deleting:
                        if inline_form.instance.pk:
                            services.barcode_remove(
                                variant=variant, code=inline_form.instance.code, user=request.user
                            )
                        services.barcode_add(variant=variant, code=data["code"], user=request.user)
                elif formset.model is ChannelPrice:
                    channel = data.get("channel") or inline_form.instance.channel
                    price = None if deleting else data.get("price_amount")
                    services.channel_price_set(
                        variant=variant, channel=channel, price_amount=price, user=request.user
                    )
        except DomainError as error:
            messages.error(request, error.message)


@admin.register(CatalogChange)
class CatalogChangeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "product", "variant", "channel", "kind", "changes", "created_by"]
    list_filter = ["kind", "channel"]
    search_fields = ["product__name", "variant__sku"]
    date_hierarchy = "created_at"
    list_select_related = ["product", "variant", "channel", "created_by"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
