"""Small Lambda handlers (and fixtures) for the data plane's tests."""
