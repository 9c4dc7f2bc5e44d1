def check_schedule(*a, **k): return []
