"""Batches: a chain run over many rows of inputs (a CSV or JSON Lines table, or rows given in
Python), each row an ordinary run folder, under one set of limits, resumable in place."""
