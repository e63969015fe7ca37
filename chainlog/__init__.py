"""chainlog: a self-contained RFC 9162 transparency log (placeholder, being built)."""
