"""Flow tests for the moderators' group: one language for every text there, /help, /queue links,
and status notifications that name the report (issue 19, items 3, 4 and 6)."""
