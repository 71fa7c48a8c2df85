"""A seeded, vectorised generator of a synthetic Denmark in the registers' own extract layouts, and
its calibration against published figures. It may import only the foundations and ``refdata``, no
sibling of its layer (``semantic``, ``storage``, ``engines``)."""
