"""``dramaturg studio``: co-write a run in the browser (a local web app on the public co-writing
functions and the engine's events; see docs/studio.md). Needs the ``studio`` extra."""
