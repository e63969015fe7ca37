"""Notifications (R-N1, R-N2): events written with their cause (``events.emit``),
the event feed (``feed``), webhook endpoints (``endpoints``, ``targets``), and
their delivery (``delivery``, ``transport``, ``worker``); use-period reminders
(``reminders``)."""
