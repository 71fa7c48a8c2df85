"""The `koes` command line: thin commands over the services."""
