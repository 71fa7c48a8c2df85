"""KØS: an open implementation of Kommunaløkonomisk Sundhedsinformationsgrundlag."""

__version__ = "0.1.0"
