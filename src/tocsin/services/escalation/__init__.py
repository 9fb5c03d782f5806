"""Escalation: policies and their rules, who a rule reaches, the steps the engine carries out, paging
by hand, and what the engine reads before it delivers a page."""
