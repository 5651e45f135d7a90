"""The backends that are not the locmem test double: file, console, Django's mail."""

import json
import smtplib

import pytest

from unicommerce.messaging.backends import (
    DjangoMailBackend,
    PermanentFailure,
    TemporaryFailure,
    backend_for,
)
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import message_send
from unicommerce.messaging.tasks import message_send_task


def test_the_file_backend_appends_json_lines(db, settings, tmp_path):
    settings.SMS_BACKEND = "unicommerce.messaging.backends.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "messages")
    first = message_send(
        channel="sms", to="+33612345678", body="Prêt à retirer", kind="order.ready", reference="R-1"
    )
    second = message_send(channel="sms", to="+262692123456", body="Second", kind="payment.link")

    assert [message_send_task(first.pk), message_send_task(second.pk)] == ["sent", "sent"]

    lines = (tmp_path / "messages" / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    documents = [json.loads(line) for line in lines]
    assert [(d["id"], d["to"], d["body"], d["kind"]) for d in documents] == [
        (first.pk, "+33612345678", "Prêt à retirer", "order.ready"),
        (second.pk, "+262692123456", "Second", "payment.link"),
    ]
    assert documents[0]["idempotency_key"] == f"unicommerce-message-{first.pk}"
    assert documents[0]["reference"] == "R-1"
    first.refresh_from_db()
    assert first.provider_id == f"file-{first.pk}"


def test_the_file_backend_reports_an_unwritable_directory_as_temporary(db, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings.SMS_BACKEND = "unicommerce.messaging.backends.FileBackend"
    settings.SMS_FILE_PATH = str(blocker / "messages")
    message = message_send(channel="sms", to="+33612345678", body="Hi", kind="order.ready")

    assert message_send_task(message.pk) == "retry"

    message.refresh_from_db()
    assert message.last_error.startswith("TemporaryFailure: cannot write to")


def test_the_console_backend_prints_the_message(db, settings, capsys):
    settings.CUSTOMER_EMAIL_BACKEND = "unicommerce.messaging.backends.ConsoleBackend"
    message = message_send(
        channel="email", to="anna@shop.fr", subject="Ready", body="Come and get it", kind="k"
    )

    assert message_send_task(message.pk) == "sent"

    printed = capsys.readouterr().out
    assert "--- email to anna@shop.fr (k): Ready\nCome and get it\n---\n" in printed
    message.refresh_from_db()
    assert message.provider_id == f"console-{message.pk}"


def test_the_django_mail_backend_sends_through_djangos_mail(db, settings, mailoutbox):
    settings.CUSTOMER_EMAIL_BACKEND = "unicommerce.messaging.backends.DjangoMailBackend"
    settings.CUSTOMER_EMAIL_FROM = "Boutique <shop@example.com>"
    message = message_send(
        channel="email", to="anna@shop.fr", subject="Ready", body="Come and get it", kind="k"
    )

    assert message_send_task(message.pk) == "sent"

    [email] = mailoutbox
    assert (email.to, email.subject, email.body, email.from_email) == (
        ["anna@shop.fr"],
        "Ready",
        "Come and get it",
        "Boutique <shop@example.com>",
    )
    message.refresh_from_db()
    assert email.extra_headers["Message-ID"] == message.provider_id
    assert message.provider_id == f"<unicommerce-message-{message.pk}@example.com>"


class RefusingMailer:
    """An SMTP server's answers, as a Django mail backend (the outside service)."""

    error: Exception = smtplib.SMTPRecipientsRefused({"anna@shop.fr": (550, b"no such user")})

    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise self.error


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (smtplib.SMTPRecipientsRefused({"anna@shop.fr": (550, b"no such user")}), PermanentFailure),
        (smtplib.SMTPDataError(554, b"rejected"), PermanentFailure),
        (smtplib.SMTPDataError(451, b"try later"), TemporaryFailure),
        (smtplib.SMTPServerDisconnected("gone"), TemporaryFailure),
        (ConnectionRefusedError("refused"), TemporaryFailure),
    ],
)
def test_smtp_errors_are_told_apart(db, settings, monkeypatch, error, failure):
    monkeypatch.setattr(RefusingMailer, "error", error)
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.RefusingMailer"}}
    message = Message(pk=7, channel="email", to="anna@shop.fr", subject="S", body="B", kind="k")

    with pytest.raises(failure):
        DjangoMailBackend().send(message)


def test_each_channel_has_its_backend(settings):
    settings.SMS_BACKEND = "unicommerce.messaging.backends.FileBackend"
    settings.CUSTOMER_EMAIL_BACKEND = "unicommerce.messaging.backends.DjangoMailBackend"

    assert type(backend_for("sms")).__name__ == "FileBackend"
    assert type(backend_for("email")).__name__ == "DjangoMailBackend"
