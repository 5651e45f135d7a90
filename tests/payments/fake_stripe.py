"""A local fake of the parts of Stripe's HTTP API the adapter uses, for tests: a real
HTTP server on 127.0.0.1 in a thread.

- ``POST /v1/payment_intents`` (confirm=true), ``/v1/payment_intents/<id>/capture``,
  ``/v1/payment_intents/<id>/cancel``, ``POST /v1/refunds``; form-encoded, bearer auth.
- ``Idempotency-Key`` like Stripe: the same key with the same parameters answers the
  first answer again (``Idempotent-Replayed: true``) without doing the work; with other
  parameters, 400 ``idempotency_error``.
- Test payment methods: ``pm_card_visa`` succeeds, ``pm_card_chargeDeclined`` is declined
  (402), ``pm_card_processing`` stays *processing* until a webhook says otherwise.
- ``webhook(type, obj)`` builds a signed event (``Stripe-Signature``) as Stripe sends it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


@dataclass
class FakeStripe:
    secret_key: str = "sk_test_fake"
    webhook_secret: str = "whsec_fake_stripe"
    intents: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    requests: list[tuple[str, dict, dict]] = field(default_factory=list)  # path, form, headers
    charges_made: int = 0
    lose_next_answers: int = 0  # do the work, then answer 500 (a lost answer)
    _idempotency: dict[str, tuple[str, int, bytes]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                form = dict(parse_qsl(body.decode()))
                status, answer, replayed = fake.handle(self.path, form, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                if replayed:
                    self.send_header("Idempotent-Replayed", "true")
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the API

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    def handle(self, path: str, form: dict, headers: dict) -> tuple[int, bytes, bool]:
        with self._lock:
            self.requests.append((path, form, headers))
            if headers.get("Authorization") != f"Bearer {self.secret_key}":
                return self._error(401, "invalid_request_error", "invalid_api_key", "Bad key.")
            key = headers.get("Idempotency-Key")
            fingerprint = hashlib.sha256(
                (path + json.dumps(form, sort_keys=True)).encode()
            ).hexdigest()
            if key and key in self._idempotency:
                first_fingerprint, status, answer = self._idempotency[key]
                if first_fingerprint != fingerprint:
                    return self._error(
                        400,
                        "idempotency_error",
                        "idempotency_key_reused",
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with.",
                    )
                return status, answer, True
            status, answer, _ = self._route(path, form)
            if key and status < 500:
                self._idempotency[key] = (fingerprint, status, answer)
            if self.lose_next_answers > 0:
                self.lose_next_answers -= 1
                return self._error(500, "api_error", "lost", "The answer was lost.")
            return status, answer, False

    def _route(self, path: str, form: dict) -> tuple[int, bytes, bool]:
        parts = path.strip("/").split("/")
        if parts == ["v1", "payment_intents"]:
            return self._intent_create(form)
        if len(parts) == 4 and parts[:2] == ["v1", "payment_intents"]:
            intent = self.intents.get(parts[2])
            if intent is None:
                return self._error(404, "invalid_request_error", "resource_missing", "No such.")
            if parts[3] == "capture":
                return self._intent_capture(intent, form)
            if parts[3] == "cancel":
                return self._intent_cancel(intent)
        if parts == ["v1", "refunds"]:
            return self._refund_create(form)
        return self._error(404, "invalid_request_error", "resource_missing", "Unknown path.")

    def _intent_create(self, form: dict) -> tuple[int, bytes, bool]:
        amount = int(form["amount"])
        method = form.get("payment_method", "")
        intent = {
            "id": self._new_id("pi"),
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "amount_capturable": 0,
            "currency": form["currency"],
            "capture_method": form.get("capture_method", "automatic"),
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "latest_charge": None,
            "last_payment_error": None,
        }
        self.intents[intent["id"]] = intent
        if method == "pm_card_chargeDeclined":
            intent["status"] = "requires_payment_method"
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
            }
            intent["last_payment_error"] = error
            return self._error(402, **error, payment_intent=intent)
        if method == "pm_card_processing":
            intent["status"] = "processing"
            return self._ok(intent)
        if method != "pm_card_visa":
            return self._error(400, "invalid_request_error", "resource_missing", "No such PM.")
        self.charges_made += 1
        intent["latest_charge"] = {
            "id": self._new_id("ch"),
            "object": "charge",
            "payment_method_details": {"card": {"brand": "visa", "last4": "4242"}},
        }
        if intent["capture_method"] == "manual":
            intent["status"] = "requires_capture"
            intent["amount_capturable"] = amount
        else:
            intent["status"] = "succeeded"
            intent["amount_received"] = amount
        return self._ok(intent)

    def _intent_capture(self, intent: dict, form: dict) -> tuple[int, bytes, bool]:
        if intent["status"] != "requires_capture":
            return self._error(400, "invalid_request_error", "payment_intent_unexpected_state", "")
        amount = int(form.get("amount_to_capture") or intent["amount"])
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        return self._ok(intent)

    def _intent_cancel(self, intent: dict) -> tuple[int, bytes, bool]:
        if intent["status"] not in ("requires_capture", "requires_payment_method", "processing"):
            return self._error(400, "invalid_request_error", "payment_intent_unexpected_state", "")
        intent.update(status="canceled", amount_capturable=0)
        return self._ok(intent)

    def _refund_create(self, form: dict) -> tuple[int, bytes, bool]:
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return self._error(400, "invalid_request_error", "charge_not_refundable", "")
        refunds = [r for r in self.refunds.values() if r["payment_intent"] == intent["id"]]
        already = sum(r["amount"] for r in refunds)
        amount = int(form.get("amount") or intent["amount_received"] - already)
        if amount + already > intent["amount_received"]:
            return self._error(400, "invalid_request_error", "amount_too_large", "Too much.")
        refund = {
            "id": self._new_id("re"),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        return self._ok(refund)

    @staticmethod
    def _ok(document: dict) -> tuple[int, bytes, bool]:
        return 200, json.dumps(document).encode(), False

    @staticmethod
    def _error(status: int, type: str, code: str, message: str, **extra) -> tuple[int, bytes, bool]:
        error = {"type": type, "code": code, "message": message, **extra}
        return status, json.dumps({"error": error}).encode(), False

    # --- webhooks

    def intent_settle(self, intent_id: str, *, succeeded: bool = True) -> dict:
        """A processing payment finishes at the provider (what its webhook then reports)."""
        with self._lock:
            intent = self.intents[intent_id]
            if succeeded:
                self.charges_made += 1
                intent.update(status="succeeded", amount_received=intent["amount"])
            else:
                intent.update(
                    status="requires_payment_method",
                    last_payment_error={"code": "card_declined", "message": "Declined."},
                )
            return dict(intent)

    def webhook(
        self,
        event_type: str,
        obj: dict,
        *,
        event_id: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A signed event as Stripe posts it: (raw body, headers)."""
        event = {
            "id": event_id or self._new_id("evt"),
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {"object": obj},
        }
        body = json.dumps(event).encode()
        t = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(self.webhook_secret.encode(), f"{t}.".encode() + body, hashlib.sha256)
        return body, {"Stripe-Signature": f"t={t},v1={mac.hexdigest()}"}
