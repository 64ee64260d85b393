"""Patient messages pages: the message log, the template editor and the portal's opt-out setting."""
