"""People and how they are reached: users, teams and members, handles, directory lookups, contact
methods, notification rules and their personal steps."""
