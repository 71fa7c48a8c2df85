"""The semantic model: perspectives, measures, dimensions and segments, declared as data in
``catalog/`` and read by a checking loader, with the catalog's special ids (``model``). It may import
only the foundations (``domain``, ``settings``) and ``refdata``, no sibling of its layer (``storage``,
``engines``, ``synthetic``)."""
