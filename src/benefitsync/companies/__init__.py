"""Companies (tenants), memberships, and the one way to resolve a request's company."""
