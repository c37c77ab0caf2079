"""Production settings for the benchmarks, with the one change a closed machine needs.

Every production rule applies (DEBUG off, persistent connections, JSON logs, Redis broker); only
the payment gateway is the sandbox, so captures and releases move sandbox holds instead of
calling Stripe over a network this machine does not have. benchmarks/load.py sets the
environment production.py requires (random secrets, loopback services) before importing this.
"""

from config.settings.production import *  # noqa: F403

PAYMENTS_GATEWAY = "sandbox"
