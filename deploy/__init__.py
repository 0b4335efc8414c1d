"""Development tools: the local system's scripts, and the departmental-event simulation they and the tests share."""
