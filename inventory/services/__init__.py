"""Stock operations, one module per sub-domain. The stock primitives are re-exported
here because every other app calls them."""
