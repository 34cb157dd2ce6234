"""Errors the API turns into 404 and 422 answers with a message."""

from __future__ import annotations


class NotFoundError(LookupError):
    """A series, area or week the store or the catalog does not know (HTTP 404)."""


class InvalidRequestError(ValueError):
    """A well-typed request that still cannot be answered as asked (HTTP 422)."""
