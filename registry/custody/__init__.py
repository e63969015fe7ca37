"""Chain-of-custody accounts (SPEC §6A, R-M1–R-M8; RMS 6.4–6.5).

* ``models``   — the tables (migration 0017);
* ``rules``    — pure rules: control systems and their hierarchy, claims on
  inputs and outputs, periods, expiry dates, batch/rolling/multi-site averages;
* ``credit``   — pure first-in-first-out credit arithmetic over running sums
  (shared by the services and by replay);
* ``services`` — open an account, receive an input, record an output, read a
  balance, expire credit, close a period. Each writes one chain-log entry per
  custody event in the same transaction (R-M7).

Import the services from ``registry.custody.services``; this package imports
nothing so that ``registry.models`` can load the tables without a cycle.
"""
