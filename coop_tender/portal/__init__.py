"""The member and coordinator web portal (FastAPI + Jinja2) and the personal invitation links.

`app.create_app(workspace)` builds the application, `invite.invite_members(...)` makes the links;
`security` holds the CSRF, size-limit, header and upload checks; `declaration` maps the web form
to a `Member`; `overview` computes the coordinator's tables.
"""
