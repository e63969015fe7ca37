"""Chain-of-custody accounts (SPEC §6A, R-M1–R-M8; RMS 6.4–6.5).

* ``models``   — the tables (migration 0017);
* ``rules``    — pure rules: control systems and their hierarchy, claims on
  inputs and outputs, periods, expiry dates, batch/rolling/multi-site averages;
* ``credit``   — pure first-in-first-out credit arithmetic over running sums
  (shared by the services and by replay);
* ``book``     — reading an account (R-M8), locking it for a write (R-X5), the
  day and period checks of every event, and the expiry every event writes first;
* ``services`` — open an account, receive an input, record an output;
* ``periods``  — the balance on a day (``balance_sql``: one statement), the daily
  credit expiry, closing a period into its volume summary, the closed periods;
* ``lots``     — lots of an account: receipts cited, credit drawn by generation (R-M6);
* ``reminders`` — the daily ``custody.credit_expiring`` notice.
Each write is one chain-log entry per custody event in the same transaction (R-M7).

Import the modules themselves (``registry.custody.services``…); this package imports
nothing so that ``registry.models`` can load the tables without a cycle.
"""
