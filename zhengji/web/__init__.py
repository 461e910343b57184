"""The web side: the public window page now; the staff review queue and the web chat will join it."""
