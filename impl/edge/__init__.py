"""The HTTP/1.1 edge: how the server reads requests before the application sees them."""
