"""Access: sign-in, the start page, the audit trail and access logs (web layer)."""
