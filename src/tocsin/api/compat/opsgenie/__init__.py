"""Opsgenie's Alert API (v2) at ``/v2/alerts``: a team leaving Opsgenie points its API integration
(Alertmanager's ``opsgenie_configs``, the Opsgenie SDKs, scripts) at Tocsin by changing the host.

The ``Authorization: GenieKey <key>`` key is the routing key of a Tocsin integration of type
``opsgenie``; give that integration the old GenieKey as its routing key and no sender needs a new
secret. Every answer is Opsgenie's own (its REST API "Response" page and OpenAPI spec, the bodies its
SDKs parse): ``202 {"result":"Request will be processed","took":<seconds>,"requestId":"<uuid>"}``
once the event is committed; errors ``{"message","took","requestId"}``, 422 adding an ``errors`` map
of field to reason, 403 adding ``code`` 40301.

Priority to urgency; the incident keeps the priority, and Opsgenie's default is P3:

| Opsgenie priority | severity | urgency |
|---|---|---|
| P1, P2 | critical | HIGH |
| P3 (default) | warning | MEDIUM |
| P4, P5 | info | LOW |

Endpoints: ``POST /v2/alerts`` (create), ``POST /v2/alerts/{identifier}/acknowledge``, ``/close``
and ``/notes``, and ``PUT /v2/alerts/{identifier}/message`` and ``/description`` (sent by
Alertmanager's ``update_alerts``: they retitle or redescribe the open incident).

``identifierType`` on all but create: ``id`` (the default) is the Tocsin incident id
(``inc_…``), the only id Tocsin hands out for the incident an alias opened (Opsgenie's alert ids are
never issued here: the create answer carries only a request id, as in Opsgenie); ``tiny`` is the
incident's per-org number; ``alias`` is the alias sent on create (the dedup key). Only an open
incident of the integration's service is acted on; anything else is accepted (202) and ignored,
as Opsgenie's asynchronous API answers 202 before it looks.

Details:
- No ``alias``: the alert gets a unique one and is not deduplicated, as in Opsgenie.
- An alias longer than 255 characters (Opsgenie allows 512) is stored as ``sha256:<hex>`` of it;
  acting by that alias finds it the same way.
- ``details`` is the incident's ``custom_details``; tags, entity, actions, responders and the rest
  stay on the alert's payload. ``source`` defaults to the caller's address, as in Opsgenie.
- ``note`` on create is added when the alert opens a new incident; on acknowledge and close it is
  added to the incident acted on. Notes longer than Tocsin's 10,000 characters are cut there;
  Opsgenie's own limit (25,000) is refused with 422. A ``user`` is recorded as "<user> via
  <integration>".
- A message over 130 characters or an alias over 512 is refused with 422 (Opsgenie's limits);
  a description is cut at Opsgenie's 15,000 characters.
- Bad JSON is 400; a body over 512 KB is 413 in Opsgenie's shape (and so is one over the
  server-wide ``TOCSIN_MAX_BODY_BYTES``, refused before it gets here: ``OVERSIZE``); the alert
  limits answer 429 "You are making too many requests!" with ``Retry-After``.

Modules: ``answers`` (Opsgenie's 202 and error bodies), ``fields`` (the key, the body and its
fields, against Opsgenie's limits), ``translate`` (to ingest events, dedup keys, actors and open
incidents), ``endpoints`` (the routes).
"""

from __future__ import annotations

from tocsin.api.compat.opsgenie.answers import OVERSIZE
from tocsin.api.compat.opsgenie.endpoints import routes

__all__ = ["OVERSIZE", "routes"]
