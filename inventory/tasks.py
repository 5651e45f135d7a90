"""Inventory's background work. Periodic tasks are scheduled in settings
(CELERY_BEAT_SCHEDULE); each one is idempotent and safe to run twice."""

from celery import shared_task


@shared_task(name="inventory.reservations_expire", time_limit=120, soft_time_limit=100)
def reservations_expire_task() -> int:
    """Give back the units of reservations past their time."""
    from inventory.services.reservations import reservations_expire

    return reservations_expire()


@shared_task(name="inventory.replenishment_scan", time_limit=600, soft_time_limit=540)
def replenishment_scan_task() -> int:
    """Check every active replenishment rule (a safety net for the event-driven check)."""
    from inventory.services.replenishment import replenishment_scan_all

    return replenishment_scan_all()


@shared_task(name="inventory.import_run", time_limit=1800, soft_time_limit=1700, acks_late=True)
def import_run_task(job_id: int) -> None:
    """Run one CSV import job (validate every row, then write all of it or nothing)."""
    from inventory.services.imports.jobs import import_job_run

    import_job_run(job_id=job_id)
