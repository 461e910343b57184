"""The chat bot: one answering core (``core.py``) and the channels that carry it (web chat, WeChat, Telegram).

The core answers from the notice data, the catalog and the database, never from memory; a channel only turns
its updates into text and back (``channels/``).
"""
