"""``review-flow sweep``: the work that falls due with time rather than with a click.

A sweep is a list of steps (``steps.STEPS``). Each step finds the items due as of one
instant (``--now``, default the real time) in keyset batches over an index, and handles
each item in its own transaction, acted by the system actor (``actor.SystemActor``)
through the workflow engine. A step re-checks its item under a row lock first, so a
second sweep (or one running at the same moment against PostgreSQL) finds nothing left
to do: sweeps are idempotent and safe to run side by side.

The steps: re-review (``rereview.py``); expired invitation links (``invitations.py``);
over the review assignments, lapsed invitations to review, reminders before and after the
answer and review dates, and escalations to the editors (``reminders.py``), each a
notice recorded once per assignment and kind (``rounds/notices.py``).
"""
