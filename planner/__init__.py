"""planner: pure planning functions (assignment, schedule, routes, coverage).

Data in, data out: no Flask, no database sessions, no printing.
"""
