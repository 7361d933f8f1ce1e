"""The web app: server-rendered pages for the CFO, approvers and ops, with a little JavaScript for live updates."""
