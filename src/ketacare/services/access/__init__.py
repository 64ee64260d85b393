"""Access: services layer."""
