"""External actions: web services, handlers, database statements and email, run outside the step.

``runner`` is the lifecycle every action shares (an ``ExternalCall`` row, a Celery task,
the result reported back as an engine event); the other modules each run one kind.
See docs/external-actions.md.
"""
