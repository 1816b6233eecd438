"""Pure X.509 functions over ``cryptography`` objects: no ORM, no settings, unit-testable alone."""
