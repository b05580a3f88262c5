"""A publisher's deadline for its confirm (producer.confirm_timeout), on pika alone: kept apart from
the Locust user so that what it does can be shown on a real node without loading Locust (whose
gevent patching at import breaks ssl under pytest)."""

from __future__ import annotations

from collections.abc import Callable

import pika
from pika.exceptions import AMQPError


class ConfirmTimeout(AMQPError):
    """No confirm within producer.confirm_timeout: the publisher gives the publish up as failed."""


def publish_within(connection: pika.BlockingConnection, timeout: float | None, publish: Callable[[], None]) -> None:
    """publish(), given up after `timeout` s without its confirm. BlockingConnection waits for a
    confirm in its own I/O loop and runs the timers of its public call_later only inside
    process_data_events, never during basic_publish: the deadline is a timer of that loop itself
    (pika's adapter interface), whose exception leaves basic_publish."""
    if timeout is None:
        publish()
        return

    def expire() -> None:
        raise ConfirmTimeout(f"no confirm within {timeout:g}s")

    impl = connection._impl   # noqa: SLF001 - see above
    timer = impl._adapter_call_later(timeout, expire)   # noqa: SLF001
    try:
        publish()
    finally:
        impl._adapter_remove_timeout(timer)   # noqa: SLF001
