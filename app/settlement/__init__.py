"""Settling in town (进城落户): the settlement desk. Depends on people, never the reverse (R12)."""
