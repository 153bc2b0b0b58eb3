"""The sender: a background loop (``kernel.worker``) that sends queued messages, oldest first.

Three steps, each short: **claim** the due rows in one unit of work (status ``sending``, a lease, one attempt
more); **send** each outside any transaction (a slow provider holds no lock and no connection); **record** the
outcome in one unit of work per message (sent + ``NotificationSent``, a retry with back-off, the SMS fallback,
or failed + ``NotificationFailed``). A sender killed after the claim leaves rows whose lease runs out: they
are claimed again and sent then — the provider sees the message id as its idempotency key (simulator, SMS
gateway), so a crash between the provider's answer and the record does not make a second message there.

A sign-in code is opened (``shared.sealed``) here, for the provider call only: it never reaches a log, a
metric, the bus or a table in clear.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from datetime import timedelta
from typing import Any

from notifications import domain
from notifications.channels import Channel, Outgoing, ProviderError
from notifications.handlers import Messages
from notifications.metrics import SEND_SECONDS
from notifications.rendering import render
from notifications.settings import NotificationsSettings
from notifications.store import Row
from shared.logging import get_logger
from shared.sealed import SealBroken, unseal
from shared.uow import Work

log = get_logger(__name__)


class Sender:
    def __init__(self, messages: Messages, channels: dict[str, Channel], settings: NotificationsSettings,
                 seal_key: str, fault_inject: str = "") -> None:
        self.messages = messages
        self.channels = channels
        self.settings = settings
        self.seal_key = seal_key
        self.fault_inject = fault_inject
        self.wake = asyncio.Event()
        self._last_depth = 0.0

    def _crash_point(self, point: str) -> None:
        """Test-only: die like a killed process (``PASARKOTA_FAULT_INJECT=notifications:<point>``)."""
        if self.fault_inject == f"notifications:{point}":
            log.warning("fault injected: notifications exits", point=point)
            os._exit(137)

    def outgoing(self, row: Row) -> Outgoing:
        rules = self.messages.rules.get(row["city"])
        params = [(name, str(row["params"].get(name, ""))) for name in domain.template(row["template"]).params]
        text, secret = row["body"], False
        if row["template"] == "signin_code":
            code = unseal(self.seal_key, row["sealed_code"] or "", context=row["seal_context"] or "")
            context = dict(params) | {"code": code}
            params = [(name, context[name]) for name, _ in params]
            text, secret = render("signin_code", context, rules.templates_dir if rules else None), True
        sender_id = ""
        if rules is not None:
            sender_id = rules.whatsapp_phone_number_id if row["channel"] == "whatsapp" else rules.sms_sender
        return Outgoing(message_id=str(row["message_id"]), city=row["city"], phone=row["recipient"],
                        channel=row["channel"], template=row["template"], params=params, text=text,
                        sender_id=sender_id, secret=secret or row["urgent"])

    async def run_once(self, work: Work) -> int:
        """Claim, send and record one batch; the number of messages handled."""
        lease = timedelta(seconds=self.settings.lease_seconds)
        async with work(city=None, correlation_id="notifications-sender") as uow:
            rows = await self.messages.claim_due(uow, self.settings.send_batch, lease)
            if time.monotonic() - self._last_depth > 10:
                self._last_depth = time.monotonic()
                await self.messages.refresh_queue_depth(uow)
        for row in rows:
            self._crash_point("before_send")
            provider_id, error, retryable = await self._send(row)
            async with work(city=row["city"], correlation_id=f"message-{row['message_id']}") as uow:
                if provider_id is not None:
                    await self.messages.record_sent(uow, row, provider_id)
                else:
                    await self.messages.record_failure(uow, row, error or "failed", retryable=retryable,
                                                       max_attempts=self.settings.max_attempts,
                                                       backoff_seconds=self.settings.backoff_seconds)
            self._crash_point("after_send")
        return len(rows)

    async def _send(self, row: Row) -> tuple[str | None, str | None, bool]:
        channel = self.channels[row["channel"]]
        try:
            message = self.outgoing(row)
        except SealBroken:
            return None, "sealed code does not open (wrong PASARKOTA_CODE_SEAL_KEY or tampered event)", False
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.send_timeout_seconds + 1):
                provider_id = await channel.send(message)
            return provider_id, None, False
        except ProviderError as exc:
            return None, f"{row['channel']}: {exc.error}", exc.retryable
        except TimeoutError:
            return None, f"{row['channel']}: timeout after {self.settings.send_timeout_seconds:g}s", True
        except Exception as exc:  # an adapter bug must not stop the sender; recorded like a provider error
            log.error("channel raised", channel=row["channel"], error=repr(exc)[:300])
            return None, f"{row['channel']}: {type(exc).__name__}", True
        finally:
            SEND_SECONDS.labels(row["channel"]).observe(time.perf_counter() - started)

    async def loop(self, kernel: Any) -> None:
        while True:
            try:
                done = await self.run_once(kernel.work)
            except Exception as exc:  # Postgres away: try again shortly
                log.warning("sender pass failed", error=repr(exc)[:300])
                done = 0
            if done:
                continue
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.settings.send_poll_seconds)
