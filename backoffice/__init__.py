"""What every app of the back office shares and none owns: the error contract and the admin toolkit.

This package sits below every app: it imports Django and the libraries, never one of our apps, so
that tariffs, stations, chargers, orders and integrations may all import it.
"""
