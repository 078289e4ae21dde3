"""Rules, one per file: they turn tracks (or, for tampering, the image) into hits named by alert type."""
