"""``{"class_name", "config"}`` records of small configurable objects (regularizers,
constraints), written and read the same way for each kind."""

from __future__ import annotations


def serialize(obj) -> dict | None:
    """``{"class_name": type name, "config": obj.get_config()}`` (None for None)."""
    if obj is None:
        return None
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def deserialize(config, classes: dict, custom_objects, kind: str, get):
    """The object ``serialize`` described, from ``classes`` and ``custom_objects`` (your own
    classes by name); None or a name goes through ``get``. ValueError naming ``kind`` otherwise."""
    if config is None or isinstance(config, str):
        return get(config)
    known = {**classes, **(custom_objects or {})}
    try:
        cls = known[config["class_name"]]
        return cls.from_config(dict(config.get("config", {})))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"Cannot rebuild a {kind} from {config!r:.200} ({exc!r}); known classes: "
                         f"{sorted(known)}.") from exc
