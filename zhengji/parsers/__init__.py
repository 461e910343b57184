"""Parsers and checks: attachments in every format applicants send → the notices' forms → findings.

``readers`` turn bytes into a format-neutral layout, ``forms`` classify it and read the contract's fields,
``checks`` apply the notices' rules; ``model`` holds the shapes they share.
"""
