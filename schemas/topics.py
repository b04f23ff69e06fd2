"""Topic names, in one place. The prefix comes from Settings so tests get their own topics."""
from __future__ import annotations

# Suffixes appended to Settings.topic_prefix.
TOUCHES = "touches"          # validated touches: each message is a JSON array of events (one hook request)
REGISTRY = "registry"        # target-account registry changes, in batches
DEADLETTER = "deadletter"    # rejected input: raw payload + reasons, for operators to inspect and replay
STAGE_CHANGES = "stage-changes"  # account stage transitions, for CRM sync and alerts

ALL = (TOUCHES, REGISTRY, DEADLETTER, STAGE_CHANGES)
