"""The load: read → validate → conform → derive → publish turns register extracts into a warehouse
release, pseudonymising at the door. It may import the layers below it (it uses ``domain``, ``refdata``,
``storage``, ``engines`` and ``privacy``), never ``cohorts`` (its layer sibling), ``appdb`` or above;
with ``storage`` and ``engines`` it is one of the three packages that open DuckDB."""
