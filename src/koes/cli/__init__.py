"""The ``koes`` command line: thin commands over the services (warehouse, analysis, administration,
``koes serve``). The outer edge: it may import the web app and the services, never an engine,
storage or the app database."""
