"""Demo data for `make run`: a small fashion chain worth clicking through."""
