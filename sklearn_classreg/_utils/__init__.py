"""Small shared helpers (machinery)."""
