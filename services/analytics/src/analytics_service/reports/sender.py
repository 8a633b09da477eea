"""The send-reports job: a delivery per (enabled mapping, recipient) recorded once, then every
delivery not yet sent tried through the tenant's SMTP server, a few branches at once. A retry
(with backoff, by the queue) tries only those: a recipient who got the report never gets it
twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

import aiosmtplib
from loguru import logger
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from analytics_service.config import AnalyticsSettings
from analytics_service.reports import mailer, repository, service, unsubscribe
from analytics_service.reports.destinations import DestinationDenied
from analytics_service.reports.kinds import KINDS, Kind

Sessions = async_sessionmaker[AsyncSession]
Outcome = Literal["done", "retry", "completed", "failed"]


class SendLater(Exception):
    """Deliveries are left that a later attempt may send (the queue retries with backoff)."""


async def run_send_job(
    sessionmaker: Sessions, settings: AnalyticsSettings, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> Outcome:
    async with sessionmaker() as session, session.begin():
        job = await repository.claim_job(session, tenant_id, job_id)
        if job is None:
            return "done"
        server = await service.smtp_server(session, settings, tenant_id)
        if server is None:
            await repository.finish_job(session, tenant_id, job_id, "failed", "no SMTP settings")
            return "failed"
        await _record_deliveries(session, job)
    await _deliver(sessionmaker, settings, server, job)
    return await _conclude(sessionmaker, job, last=job.attempts >= settings.email_send_attempts)


async def _record_deliveries(session: AsyncSession, job: Row[Any]) -> None:
    """One delivery per recipient of each enabled mapping (kept as they are on a retry)."""
    mappings = await repository.enabled_mappings(session, job.tenant_id, job.branch_codes)
    gone = await repository.unsubscribed(session, job.tenant_id)
    subject = KINDS[job.kind].subject
    rows = [
        {
            "tenant_id": job.tenant_id,
            "job_id": job.job_id,
            "branch_code": m.branch_code,
            "recipient": recipient,
            "subject": subject(job.report_date, m.branch_code),
            "status": "unsubscribed" if recipient in gone else "pending",
        }
        for m in mappings
        for recipient in m.recipients
    ]
    await repository.add_deliveries(session, rows)


@dataclass
class _Run:
    """What the lanes of one run of a job share."""

    sessionmaker: Sessions
    settings: AnalyticsSettings
    server: mailer.SmtpServer
    job: Row[Any]
    gone: set[str]  # unsubscribed addresses
    # Sessions bound to one connection (the tests' rolled-back one) take turns; else none wait.
    database: AbstractAsyncContextManager[Any]
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    denied: str | None = None  # why the destination was refused, if it was


async def _deliver(
    sessionmaker: Sessions, settings: AnalyticsSettings, server: mailer.SmtpServer, job: Row[Any]
) -> None:
    """Send what is pending, branch by branch, over up to ``email_send_connections`` SMTP
    connections at once (each opened only once it has something to send). A refused
    destination fails what is left; a server that fails stops every lane, leaving the rest
    pending for the queue's retry."""
    async with sessionmaker() as session:
        pending = await repository.unsent_deliveries(session, job.tenant_id, job.job_id)
        gone = await repository.unsubscribed(session, job.tenant_id)
    branches: dict[str, list[Row[Any]]] = {}
    for delivery in pending:
        branches.setdefault(delivery.branch_code, []).append(delivery)
    bound = isinstance(sessionmaker.kw.get("bind"), AsyncConnection)
    run = _Run(
        sessionmaker, settings, server, job, gone, asyncio.Lock() if bound else nullcontext()
    )
    work = iter(branches.items())  # shared: each branch goes to one lane
    lanes = min(settings.email_send_connections, len(branches))
    async with asyncio.TaskGroup() as lanes_running:  # one failing cancels the others
        for _ in range(lanes):
            lanes_running.create_task(_lane(run, work))
    if run.denied is not None:
        async with sessionmaker() as session:
            left = await repository.unsent_deliveries(session, job.tenant_id, job.job_id)
        for delivery in left:
            await _mark(run, delivery, "failed", run.denied, attempted=False)


async def _lane(run: _Run, work: Iterator[tuple[str, list[Row[Any]]]]) -> None:
    async with AsyncExitStack() as stack:
        client: aiosmtplib.SMTP | None = None
        try:
            for branch, deliveries in work:
                if run.stop.is_set():
                    return
                for delivery, mail in await _messages(run, branch, deliveries):
                    if client is None:
                        client = await stack.enter_async_context(
                            mailer.connected(
                                run.server,
                                run.settings.smtp_timeout_seconds,
                                run.settings.smtp_policy,
                            )
                        )
                    await _send_one(run, client, delivery, mail)
        except DestinationDenied as exc:  # the settings, not the moment: no retry will help
            logger.warning("send job {}: {}", run.job.job_id, exc)
            run.denied = str(exc)
            run.stop.set()
        except (aiosmtplib.SMTPException, OSError) as exc:  # the server as a whole: all wait
            logger.warning(
                "send job {}: SMTP server unusable: {}", run.job.job_id, mailer.describe(exc)
            )
            run.stop.set()


async def _messages(
    run: _Run, branch: str, deliveries: list[Row[Any]]
) -> list[tuple[Row[Any], mailer.Mail]]:
    """The branch's report built once and a message per recipient; an unsubscribed recipient,
    or every one when the report is empty and the job skips those, is settled here instead."""
    kind = KINDS[run.job.kind]
    built = None
    messages = []
    for delivery in deliveries:
        if delivery.recipient in run.gone:
            await _mark(run, delivery, "unsubscribed", attempted=False)
            continue
        if built is None:
            async with run.database, run.sessionmaker() as session:
                built = await kind.build(session, run.job.tenant_id, run.job.report_date, branch)
        if run.job.skip_when_empty and built.is_empty:
            await _mark(run, delivery, "skipped", built.empty_reason, attempted=False)
            continue
        messages.append((delivery, _mail(run.settings, kind, built, delivery)))
    return messages


def _mail(settings: AnalyticsSettings, kind: Kind, built: Any, delivery: Row[Any]) -> mailer.Mail:
    secret = settings.email_secret.get_secret_value()
    link = unsubscribe.url(settings.public_url, secret, delivery.tenant_id, delivery.recipient)
    html, text = kind.render(built, link)
    headers = {
        "List-Unsubscribe": f"<{link}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return mailer.Mail(delivery.recipient, built.subject, text, html, headers)


async def _send_one(
    run: _Run, client: aiosmtplib.SMTP, delivery: Row[Any], mail: mailer.Mail
) -> None:
    try:
        await client.send_message(mailer.build_message(run.server.from_address, mail))
    except aiosmtplib.SMTPRecipientsRefused as exc:
        status = "failed" if mailer.is_permanent(exc) else "pending"
        await _mark(run, delivery, status, mailer.describe(exc))
        return
    except aiosmtplib.SMTPResponseException as exc:
        status = "failed" if mailer.is_permanent(exc) else "pending"
        await _mark(run, delivery, status, mailer.describe(exc))
        await client.rset()
        return
    await _mark(run, delivery, "sent")


async def _mark(
    run: _Run, delivery: Row[Any], status: str, error: str | None = None, *, attempted: bool = True
) -> None:
    """Committed at once: a crash after a send cannot forget that it was sent."""
    async with run.database, run.sessionmaker() as session, session.begin():
        await repository.mark_delivery(session, delivery, status, error, attempted=attempted)


async def _conclude(sessionmaker: Sessions, job: Row[Any], *, last: bool) -> Outcome:
    """Retry while deliveries wait and attempts remain; else those fail and the job ends:
    failed when nothing could be sent and something failed, completed otherwise."""
    async with sessionmaker() as session, session.begin():
        waiting = await repository.unsent_deliveries(session, job.tenant_id, job.job_id)
        if waiting and not last:
            return "retry"
        for delivery in waiting:
            await repository.mark_delivery(
                session, delivery, "failed", delivery.error, attempted=False
            )
        sent, failed, skipped = await repository.delivery_counts(session, job.tenant_id, job.job_id)
        status: Outcome = "failed" if failed and not sent else "completed"
        error = f"{failed} of {sent + failed} deliveries failed" if failed else None
        await repository.finish_job(session, job.tenant_id, job.job_id, status, error)
    logger.info("send job {}: {} sent, {} failed, {} skipped", job.job_id, sent, failed, skipped)
    return status
