"""The channels: each turns its own updates into the core's text and back, and knows nothing of the answers."""
