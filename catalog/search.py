"""Catalogue search that finds what a seller types: ``tshirt`` for "T-shirt", ``ecru``
for "Écru", ``chem`` for "Chemise", the first digits of a barcode, the start of a SKU.

PostgreSQL's core full-text search only (the embedded server has no ``unaccent`` nor
``pg_trgm``): each variant has a stored ``tsvector`` (``catalog.VariantSearch``) under a
GIN index, and a query is a conjunction of prefixes (``'tshirt':* & 'navy':*``).

The document is built *in the database*, by the functions and statement triggers of
migration ``0005_search``, so that it is fresh after every write of a variant, a
product, a barcode or a category, whatever wrote it: the services, the admin, the
stock-file import, the API, ``bulk_create``, ``QuerySet.update()`` or plain SQL.

Both sides normalise text the same way, without any locale: one character map folds
accents and case and turns punctuation into spaces (``FOLD_FROM`` → ``FOLD_TO``, then
the ligatures of ``FOLD_MULTI``). The SQL function ``catalog_search_fold`` is the same
map, frozen in the migration; a test checks that both agree. Then:

- a *word* is a run of characters other than spaces and the joiners ``- _ . /``; a
  *compound* is words linked by joiners (``t-shirt``, ``tsh-nav-m``, ``1.5``);
- the document holds each compound whole, each of its words, and its words joined
  (``t-shirt`` → ``t-shirt``, ``t``, ``shirt``, ``tshirt``);
- a query term is a compound joined (``t-shirt`` → ``tshirt``, ``TSH-NA`` → ``tshna``),
  matched as a prefix, so ``t-shirt``, ``tshirt`` and ``t shirt`` all find "T-shirt".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection

from catalog.models import Barcode, Product, ProductSearch, Variant, VariantSearch

# Upper-case ASCII, then every Latin letter with diacritics that NFKD folds to one ASCII
# letter (U+00C0–U+024F), then letters NFKD leaves alone, then punctuation and spaces.
_LATIN_FROM = (
    "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģ"
    "ĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſƠơƯưǍǎǏǐǑǒǓǔ"
    "ǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ"
)
_LATIN_TO = (
    "aaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddeeeeeeeeeegggggggg"
    "hhiiiiiiiiijjkkllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzzzzsoouuaaiioouu"
    "uuuuuuuuaaaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruuuusstthhaaeeooooooooyy"
)
_OTHER_FROM = "ØøĐđŁłÐð"
_OTHER_TO = "ooddlldd"
# ASCII punctuation except the joiners ``- . / _``, ASCII spaces and controls, the
# typographic quotes and spaces French text uses; dashes become the joiner ``-``.
_SPACES = "!\"#$%&'()*+,:;<=>?@[\\]^`{|}~\t\n\r\f\v\u00a0\u202f\u2009\u2019\u2018«»“”…·"
_DASHES = "\u2010\u2011\u2012\u2013\u2014"

FOLD_FROM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + _LATIN_FROM + _OTHER_FROM + _SPACES + _DASHES
FOLD_TO = (
    "abcdefghijklmnopqrstuvwxyz" + _LATIN_TO + _OTHER_TO + " " * len(_SPACES) + "-" * len(_DASHES)
)
FOLD_MULTI = {
    "Œ": "oe",
    "œ": "oe",
    "Æ": "ae",
    "æ": "ae",
    "ß": "ss",
    "ẞ": "ss",
    "Þ": "th",
    "þ": "th",
}

_TABLE = {ord(a): b for a, b in zip(FOLD_FROM, FOLD_TO, strict=True)} | {
    ord(a): b for a, b in FOLD_MULTI.items()
}

JOINERS = "-_./"
COMPOUND = re.compile(r"[^ ./_-]+(?:[./_-][^ ./_-]+)*")
_JOINER = re.compile(r"[./_-]")

MAX_TERMS = 8  # a query of more words than this is cut (nobody types more at a till)
MAX_TERM_LENGTH = 64
MAX_LEXEME_BYTES = 256  # longer runs (a pasted blob in an attribute) are not indexed


def fold(text: str) -> str:
    """Accents and case folded, punctuation made spaces; what ``catalog_search_fold``
    does in the database."""
    return (text or "").translate(_TABLE)


def lexemes(text: str) -> set[str]:
    """The lexemes the document holds for ``text`` (what ``catalog_search_lexemes``
    returns; used by tests and to explain a miss)."""
    found: set[str] = set()
    for match in COMPOUND.finditer(fold(text)):
        compound = match.group()
        found.add(compound)
        found.add(_JOINER.sub("", compound))
        found.update(_JOINER.split(compound))
    return {lexeme for lexeme in found if lexeme and len(lexeme.encode()) < MAX_LEXEME_BYTES}


def query_terms(text: str) -> list[str]:
    """What a seller typed, as the prefixes to look for: each compound, joined."""
    terms: list[str] = []
    for match in COMPOUND.finditer(fold(text)):
        term = _JOINER.sub("", match.group())[:MAX_TERM_LENGTH]
        if term and term not in terms:
            terms.append(term)
    return terms[:MAX_TERMS]


def tsquery(terms: list[str], *, weights: str = "") -> str:
    """``'tshirt':* & 'navy':*`` (each term a prefix, AND-ed), as ``tsquery`` input.

    Terms come from ``query_terms``: no quote nor backslash survives the fold, so the
    quoting below is complete. ``weights`` ("A") restricts the match to those parts of
    the document (the product's name)."""
    return " & ".join(f"'{term}':*{weights}" for term in terms)


# --------------------------------------------------------------------------- queries

# Products first: the active products whose document matches, an exact SKU or barcode's
# product first, then those whose name matches, then the others, by name; one page of
# candidates. Then, for each candidate, its active variants that match (an exact one
# first) and how many it has. A product matches when its variants together hold every
# word; it is shown when one variant holds them all (``t-shirt ecru xs`` is not the
# écru M and the navy XS), so a page may hold candidates that are dropped. The check of
# a candidate's variants is ``ts_match_vq()``, the function behind ``@@``: a function
# call is never matched to an index, so the few rows of the product are read by its
# product_id; with ``@@`` and a bound parameter the planner may instead scan the whole
# variants' GIN index once per candidate (40 × a prefix's posting lists).
_SEARCH_SQL = """
WITH exact AS MATERIALIZED (
    SELECT b.variant_id AS id FROM {barcode} b WHERE b.code = %(raw)s
    UNION
    SELECT v.id FROM {variant} v WHERE upper(v.sku) = upper(%(raw)s)
), candidates AS (
    SELECT ps.product_id, ps.sort_name,
           CASE WHEN ps.product_id IN (SELECT v.product_id FROM {variant} v
                                        WHERE v.id IN (SELECT id FROM exact)) THEN 0
                WHEN ps.name_document @@ %(query)s::tsquery THEN 1
                ELSE 2 END AS tier
      FROM {product_search} ps
     WHERE ps.document @@ %(query)s::tsquery AND ps.active
     ORDER BY tier, ps.sort_name, ps.product_id
     LIMIT %(candidates)s OFFSET %(offset)s
)
SELECT c.product_id,
       ARRAY(SELECT s.variant_id FROM {search} s
              WHERE s.product_id = c.product_id AND s.active
                AND ts_match_vq(s.document, %(query)s::tsquery)
              ORDER BY s.variant_id IN (SELECT id FROM exact) DESC, s.variant_id),
       (SELECT count(*) FROM {variant} x WHERE x.product_id = c.product_id AND x.is_active)
  FROM candidates c
 ORDER BY c.tier, c.sort_name, c.product_id
"""
CANDIDATES = 20  # products read per round (12 shown); more rounds only if too many are dropped
MAX_ROUNDS = 5


@dataclass(frozen=True)
class ProductMatch:
    """A product a search found: the variants to show (those that matched first, an
    exact SKU or barcode before the others), how many matched, how many it has."""

    product: Product
    variants: list[Variant]
    matched: int
    total: int

    @property
    def more(self) -> int:
        """Its active variants not shown."""
        return max(self.total - len(self.variants), 0)


def _search_sql() -> str:
    return _SEARCH_SQL.format(
        barcode=Barcode._meta.db_table,
        variant=Variant._meta.db_table,
        search=VariantSearch._meta.db_table,
        product_search=ProductSearch._meta.db_table,
    )


def product_search(*, text: str, limit: int = 12, per_product: int = 6) -> list[ProductMatch]:
    """The active products with an active variant matching every word of ``text`` as a
    prefix (name, SKU, barcode, brand, attribute values, category names; accents, case
    and hyphens aside), grouped by product: an exact SKU or barcode first, then the
    products whose name matches, then the others; by name within each, accents aside
    ("Écharpe" among the E). Two queries (the matches, their variants), whatever the
    catalogue's size; a round more only when many products hold the words across
    different variants only. Barcodes to show: ``first_barcodes``."""
    terms = query_terms(text)
    if not terms:
        return []
    params = {
        "raw": text.strip()[:MAX_TERM_LENGTH],
        "query": tsquery(terms),
        "candidates": max(CANDIDATES, limit),
        "offset": 0,
    }
    rows: list[tuple[int, list[int], int]] = []
    with connection.cursor() as cursor:
        for _round in range(MAX_ROUNDS):
            cursor.execute(_search_sql(), params)
            page = cursor.fetchall()
            rows += [(product_id, ids, total) for product_id, ids, total in page if ids]
            if len(rows) >= limit or len(page) < params["candidates"]:
                break
            params["offset"] += params["candidates"]
    rows = rows[:limit]
    if not rows:
        return []
    wanted = [pk for _product_id, ids, _total in rows for pk in ids[:per_product]]
    variants = {v.pk: v for v in Variant.objects.filter(pk__in=wanted).select_related("product")}
    matches = []
    for _product_id, ids, total in rows:
        shown = [variants[pk] for pk in ids[:per_product] if pk in variants]
        if shown:
            matches.append(ProductMatch(shown[0].product, shown, len(ids), total))
    return matches


def product_variants(*, product_id: int) -> ProductMatch | None:
    """An active product with all its active variants (the "more" of a search result
    or a grid tile with several variants). One query."""
    variants = list(
        Variant.objects.filter(product_id=product_id, is_active=True, product__is_active=True)
        .select_related("product")
        .order_by("id")
    )
    if not variants:
        return None
    return ProductMatch(variants[0].product, variants, len(variants), len(variants))


# Written out, as the search's own query: asked on every keystroke of the till's search.
_FIRST_BARCODES = f"""
    SELECT DISTINCT ON (variant_id) variant_id, code FROM {Barcode._meta.db_table}
     WHERE variant_id = ANY(%s::bigint[]) ORDER BY variant_id, code
"""  # noqa: S608 - the table name comes from the model, values are parameters


def first_barcodes(variant_ids: list[int]) -> dict[int, str]:
    """{variant id: its first barcode} in one query (what a result shows under the SKU;
    cheaper than prefetching every barcode of every variant shown)."""
    if not variant_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_FIRST_BARCODES, [list(variant_ids)])
        return dict(cursor.fetchall())
