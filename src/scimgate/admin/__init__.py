"""Administration of organizations: their flags, roles, role mappings, teams and members.

``operations`` composes the domain calls and returns plain JSON-ready data, which
both the JSON admin API (``api``, mounted at ``/api``) and the command line
(``commands``) present, so the two always agree.
"""
