"""zhengji (征集): the intake desk of a vocational-skills appraisal center.

A mail's path through the package, one subpackage a step:
receive (``mailbox``) → store (``storage``) → parse and check (``parsers``) → reply (``mailbox``)
→ review (``web``); ``bot`` answers applicants in chat, ``notices`` holds the rules as data.
"""

__version__ = "0.1.0"
