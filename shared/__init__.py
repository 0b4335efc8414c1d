"""What every service shares: the event schema (`shared.events`) and one copy of the plumbing."""
