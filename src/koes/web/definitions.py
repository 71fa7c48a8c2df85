"""What each measure means, in the page's language: the "?" next to a measure and the "Om tallene"
panel. The definitions are the catalog's (:mod:`koes.semantic.definitions`), so pages and downloads
say the same."""

from koes.semantic.definitions import danish, definition, missing_definitions

__all__ = ["danish", "definition", "missing_definitions"]
