"""The transactional outbox: domain events written in the same transaction as the change
they describe, relayed to Celery after commit, swept periodically so nothing is lost."""
