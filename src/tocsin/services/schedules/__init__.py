"""Schedules: layers, overrides and absences checked in; who is on call, shifts, gaps and calendar
feeds out. The math lives in ``domain``; these modules load snapshots and write rows."""
