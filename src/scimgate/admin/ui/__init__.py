"""The admin web UI under ``/admin``: server-rendered pages over the admin operations.

Pages call the same ``admin.operations`` as the JSON API and the command line; this
package only reads forms, checks the session, CSRF token and organization, and renders
templates. No front-end build step: Jinja2 templates, one stylesheet, one small script.
"""
