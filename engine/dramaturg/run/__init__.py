"""One run of a chain: the run session (the single path for run, resume, rerun and continue), the
executor, the runner, rendering, the step calls and their limits, the models and the step cache."""
