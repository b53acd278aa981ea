"""The staff workspace: server-rendered pages for agents, QC, supervisors and finance."""
