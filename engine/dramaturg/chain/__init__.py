"""The chain as written: read, checked and planned before any model call. Nothing here calls a
model or writes a file."""
