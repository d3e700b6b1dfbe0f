"""The package's version, in a module of its own so that the engine can name it without importing
the package's face (``dramaturg/__init__``), which imports the engine lazily in turn."""

__version__ = "0.1.0"
