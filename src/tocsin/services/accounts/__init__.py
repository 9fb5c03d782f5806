"""People signing in: password hashes (``hashing``), setting a password (``passwords``), browser
sessions and their CSRF tokens (``sessions``), and the login throttle (``throttle``). The web
layer calls these; the CLI sets passwords with them. What each role may do is ``domain.roles``."""
