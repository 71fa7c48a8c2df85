"""The semantic model: perspectives, measures, dimensions and segments, declared as data."""
