"""The send-reports job: a delivery per (enabled mapping, recipient) recorded once, then every
delivery not yet sent tried through the tenant's SMTP server. A retry (with backoff, by the
queue) tries only those: a recipient who got the report never gets it twice."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import Any, Literal

import aiosmtplib
from loguru import logger
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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


async def _deliver(
    sessionmaker: Sessions, settings: AnalyticsSettings, server: mailer.SmtpServer, job: Row[Any]
) -> None:
    """Send what is pending over one connection, opened only once something is to be sent."""
    async with sessionmaker() as session:
        pending = await repository.unsent_deliveries(session, job.tenant_id, job.job_id)
        gone = await repository.unsubscribed(session, job.tenant_id)
    async with aclosing(_outgoing(sessionmaker, settings, job, pending, gone)) as outgoing:
        item = await anext(outgoing, None)
        if item is None:
            return
        try:
            async with mailer.connected(
                server, settings.smtp_timeout_seconds, settings.smtp_policy
            ) as client:
                while item is not None:
                    await _send_one(sessionmaker, client, server, *item)
                    item = await anext(outgoing, None)
        except DestinationDenied as exc:  # the settings, not the moment: no retry will help
            logger.warning("send job {}: {}", job.job_id, exc)
            while item is not None:
                await _mark(sessionmaker, item[0], "failed", str(exc), attempted=False)
                item = await anext(outgoing, None)
        except (aiosmtplib.SMTPException, OSError) as exc:  # the server as a whole: all wait
            logger.warning(
                "send job {}: SMTP server unusable: {}", job.job_id, mailer.describe(exc)
            )


async def _outgoing(
    sessionmaker: Sessions,
    settings: AnalyticsSettings,
    job: Row[Any],
    pending: Sequence[Row[Any]],
    gone: set[str],
) -> AsyncGenerator[tuple[Row[Any], mailer.Mail]]:
    """Each pending delivery's message, its branch's report built once; an unsubscribed
    recipient, or a branch whose report is empty when the job skips those, is settled here."""
    kind = KINDS[job.kind]
    reports: dict[str, Any] = {}
    for delivery in pending:
        if delivery.recipient in gone:
            await _mark(sessionmaker, delivery, "unsubscribed", attempted=False)
            continue
        if delivery.branch_code not in reports:
            async with sessionmaker() as session:
                reports[delivery.branch_code] = await kind.build(
                    session, job.tenant_id, job.report_date, delivery.branch_code
                )
        built = reports[delivery.branch_code]
        if job.skip_when_empty and built.is_empty:
            await _mark(sessionmaker, delivery, "skipped", built.empty_reason, attempted=False)
            continue
        yield delivery, _mail(settings, kind, built, delivery)


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
    sessionmaker: Sessions,
    client: aiosmtplib.SMTP,
    server: mailer.SmtpServer,
    delivery: Row[Any],
    mail: mailer.Mail,
) -> None:
    try:
        await client.send_message(mailer.build_message(server.from_address, mail))
    except aiosmtplib.SMTPRecipientsRefused as exc:
        status = "failed" if mailer.is_permanent(exc) else "pending"
        await _mark(sessionmaker, delivery, status, mailer.describe(exc))
        return
    except aiosmtplib.SMTPResponseException as exc:
        status = "failed" if mailer.is_permanent(exc) else "pending"
        await _mark(sessionmaker, delivery, status, mailer.describe(exc))
        await client.rset()
        return
    await _mark(sessionmaker, delivery, "sent")


async def _mark(
    sessionmaker: Sessions,
    delivery: Row[Any],
    status: str,
    error: str | None = None,
    *,
    attempted: bool = True,
) -> None:
    """Committed at once: a crash after a send cannot forget that it was sent."""
    async with sessionmaker() as session, session.begin():
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
