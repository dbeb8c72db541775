"""REST API under /api/v1/: the same selectors for reading and the same transition path
(``transitions.aplicar``) for writing as the pages."""
