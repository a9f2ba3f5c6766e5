"""The floor of tests/benchmarks/push_ingest.py: the least a Django project under gunicorn can do with a push.

One view stores the raw body and answers in Tomda's envelope; nothing else is installed, so what our
endpoint costs beyond this is what our own code costs.
"""
