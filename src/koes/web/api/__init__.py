"""Versioned JSON APIs, published with their OpenAPI description."""
