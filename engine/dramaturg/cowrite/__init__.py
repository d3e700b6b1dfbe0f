"""Co-writing on a finished run's folder: edit, history, checkout, rerun and continue, all through
the run session."""
