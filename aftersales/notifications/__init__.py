"""Notifications: the outbox written in the caller's transaction, and its delivery after commit.

``outbox`` (customer progress messages, staff alerts, channel progress events), ``delivery`` (sending with
retries and back-off: email, chat-robot and channel webhooks, each signed and checked against private
addresses). May import models and the workflow registry (for the customer messages); never a service or a door.
"""
