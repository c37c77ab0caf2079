"""Every write to cases, in two parts that share nothing but the models:

- `submission`: sending a visit to MDI exactly once (the submission state machine, the client
  calls and their reconciliation, duplicates a late create leaves behind);
- `mdi_events`: applying MDI's webhook events to the case and prescription state machines.
"""
