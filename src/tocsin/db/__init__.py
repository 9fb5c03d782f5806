"""Tables, engine and sessions. Imports ``domain`` types only."""
