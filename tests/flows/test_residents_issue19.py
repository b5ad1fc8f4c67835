"""Issue 19, items 7, 12 and 14: what residents and organizers see (flow tests)."""
