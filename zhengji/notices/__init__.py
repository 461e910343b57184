"""The notices as data: tracks, mailboxes, windows, required documents, industry tags and the catalog."""

from zhengji.notices.registry import Registry, load_registry

__all__ = ["Registry", "load_registry"]
