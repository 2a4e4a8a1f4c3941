"""A Leadhost channel plugin in Python, built against wit/ with componentize-py.

It accepts `POST /events` with a JSON array of {"id", "email", "action", "at"}
signed with HMAC-SHA256 (hex) in `x-signature`, checked by the host with the
secret `signing-key`, and turns each event into a touchpoint.

    componentize-py --wit-path ../../wit --world leadhost:channel/connector componentize app -o py-hooks.wasm
    leadhost plugin check py-hooks.wasm
"""
import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import config, secrets
from wit_world.imports import leadhost_channel_types as t


def identities(email):
    return t.Identities(email, None, None, None, None, None, None, None)


def touchpoint(event):
    action = str(event.get("action", "event"))
    kind = {"signup": t.TouchpointKind_FormSubmitted(), "download": t.TouchpointKind_Download()}.get(
        action, t.TouchpointKind_Custom(action)
    )
    return t.Touchpoint(
        external_id=str(event["id"]),
        occurred_at=event.get("at"),
        channel=t.Channel.OTHER,
        kind=kind,
        identities=identities(event.get("email")),
        traits=t.Traits(None, None, None, None, None, None, None, []),
        properties=t.Properties(None, None, None, None, None, None, None, None, None, None, None, []),
        consent=[],
    )


class Plugin(exports.Plugin):
    def describe(self) -> t.Manifest:
        return t.Manifest(
            name="py-hooks",
            version="0.1.0",
            description="Signed JSON webhooks, written in Python",
            channels=[t.Channel.OTHER],
            operations=t.Operations.INGEST,
            config=[t.ConfigField("greeting", "the reply body", t.ConfigType.TEXT, False, "thanks")],
            secrets=[t.SecretField("signing-key", "HMAC-SHA256 key of the sender", True)],
            capabilities=t.Capabilities([], False),
        )

    def ingest(self, request: t.HttpRequest) -> t.Ingested:
        if request.method != "POST" or request.path != "/events":
            raise Err(t.IngestError_NotFound("POST /events"))
        try:
            secret = secrets.Secret.open("signing-key")
        except Err as e:
            raise Err(t.IngestError_Misconfigured("the signing-key secret is not set"))
        signature = next((h.value for h in request.headers if h.name == "x-signature"), None)
        try:
            signature = bytes.fromhex(signature or "")
        except ValueError:
            signature = b""
        if not signature or not secret.verify(secrets.Algorithm.HMAC_SHA256, bytes(request.body), signature):
            raise Err(t.IngestError_Unauthorized("x-signature does not match"))
        try:
            events = json.loads(bytes(request.body))
            touchpoints = [touchpoint(e) for e in events]
        except (ValueError, KeyError, TypeError) as e:
            raise Err(t.IngestError_Malformed(f"expected a JSON array of events: {e}"))
        greeting = config.get("greeting") or "thanks"
        reply = t.HttpResponse(200, [t.Header("content-type", "text/plain")], greeting.encode())
        return t.Ingested(touchpoints, reply)

    def poll(self, cursor):
        raise Err(t.PollError_Unsupported())

    def deliver(self, message):
        return t.Delivery_Rejected(t.Rejection(t.RejectionReason.UNSUPPORTED, "py-hooks does not deliver"))
