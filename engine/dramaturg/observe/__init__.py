"""What a run shows: the plain lines and the live table, ``--json`` events, the step board and
``report.html``."""
