"""What every app of the back office shares and none owns: the error contract, the admin toolkit and site.

This package sits below every app: it imports Django and the libraries, never one of our apps, so
that tariffs, stations, chargers, orders and integrations may all import it.
"""
