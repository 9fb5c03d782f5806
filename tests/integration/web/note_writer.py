"""A process of its own that commits through the services, as the engine child or another replica
would: ``python -m tests.integration.web.note_writer <database url> <incident id>`` adds a note."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from tocsin.db.models import Incident
from tocsin.db.session import Database
from tocsin.domain.actor import Actor
from tocsin.services.incidents import timeline


def main(url: str, incident_id: str) -> None:
    database = Database(url, sqlite_synchronous="NORMAL")
    try:
        with database.write() as session:
            incident = session.get_one(Incident, incident_id)
            actor = Actor(type="system", id=None, name="another process")
            timeline.add_note(
                session=session,
                incident=incident,
                content="written elsewhere",
                actor=actor,
                now=datetime.now(UTC),
            )
    finally:
        database.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
