"""`python -m berth`: Kamal's day-two commands (logs, exec, console, rollback…) for a Berth stack."""
