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
FOLD_MULTI = {"Œ": "oe", "œ": "oe", "Æ": "ae", "æ": "ae", "ß": "ss", "ẞ": "ss", "Þ": "th", "þ": "th"}

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
