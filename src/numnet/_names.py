"""Looking names up in numnet's registries, with one kind of error for every registry."""

from __future__ import annotations


def canonical(name, registry, aliases, what: str) -> str:
    """The key of ``registry`` that ``name`` means (case-insensitive, resolving
    ``aliases``), or a ``ValueError`` listing every valid name."""
    if isinstance(name, str):
        key = aliases.get(name.lower(), name.lower())
        if key in registry:
            return key
    choices = ", ".join(sorted(registry) + sorted(aliases))
    raise ValueError(f"Unknown {what} {name!r}; expected one of: {choices}.")
