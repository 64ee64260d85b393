"""HTTP plumbing shared by the api and web adapters: who is asking, access declarations, errors, headers."""
