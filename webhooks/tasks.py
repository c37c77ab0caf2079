from celery import shared_task


@shared_task(acks_late=True)
def webhook_bodies_prune_task() -> int:
    from webhooks.services import webhook_bodies_prune

    return webhook_bodies_prune()
