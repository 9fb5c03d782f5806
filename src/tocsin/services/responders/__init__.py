"""A responder acts from outside the API: a one-click link in a page, an SMS reply, or a command a
tool sends on a named person's behalf."""
