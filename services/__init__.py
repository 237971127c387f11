"""Business rules: plain functions (verb_noun) that flush but never commit."""
