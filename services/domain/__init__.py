"""The shared domain: what an event, a conversation, a period and an account are, and the tables
that hold them. The three services share it (they may not import one another); it stands on the
plumbing of services/common, which never imports it (tools/check_imports.py)."""
