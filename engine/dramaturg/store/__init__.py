"""Bytes on disk: the run folder and its files (records, snapshot, versions, call log), the step
cache, and reading a finished run back."""
