"""The workspace's forms (Flask-WTF), one module per area: fields and their checks.
Every form of the pages carries the CSRF token (the ``csrf()`` macro of
``templates/workspace/_macros.html``); ``api/workspace/csrf.py`` refuses any POST
to the pages without it, form class or not."""
