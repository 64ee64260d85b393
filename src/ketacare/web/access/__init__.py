"""Access: web layer."""
