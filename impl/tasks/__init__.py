"""The tasks capability: the generated interface's adapter, its service and its repository."""
