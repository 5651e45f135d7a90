"""Messages to customers (SMS and e-mail), written in the transaction of the business
event that calls for them and sent from a Celery worker through a pluggable backend."""
