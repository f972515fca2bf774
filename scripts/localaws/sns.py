"""SNS: the Publish checks moto 5.2.5 lacks, and the record of e-mail deliveries with the test
control that reads it back (SnsDeliveries, `GET /_firebreak/sns/deliveries`)."""

import json
import threading

_deliveries_lock = threading.Lock()
_deliveries = {}  # subscription ARN -> [{"message_id", "subject", "message"}], in order


def _structured_default_or_refuse(message):
    """Real SNS (Publish, MessageStructure=json): a JSON object with a string "default"."""
    from moto.sns.exceptions import InvalidParameterValue

    try:
        structure = json.loads(message)
    except ValueError:
        raise InvalidParameterValue(
            "Invalid parameter: Message Structure - JSON message body failed to parse"
        )
    if not isinstance(structure, dict) or not isinstance(structure.get("default"), str):
        raise InvalidParameterValue(
            "Invalid parameter: Message Structure - No default entry in JSON message body"
        )


def patch_sns_publish():
    """Real SNS: a message structure is checked on Publish, whoever subscribes; the size limit
    counts bytes; e-mail subscribers get their key of the structure (recorded, to be read back).

    Publish with MessageStructure=json: moto 5.2.5 checks a message structure only while
    delivering it, per subscription, and takes a protocol's own key in place of the "default"
    one: with no subscriber, or one whose key is there, a structure without "default" (or not
    JSON at all) is accepted. Real SNS (Publish API reference, MessageStructure: "a
    syntactically valid JSON object" with "at least a top-level JSON key of "default" with a
    value that is a string") refuses it on Publish with InvalidParameter. moto's size limit
    counts characters; SNS's counts bytes (Message: "at most 256 KB in size (262,144 bytes, not
    262,144 characters)"). And moto delivers nothing to email/email-json subscriptions, so what
    an e-mail subscriber gets cannot be read back; real SNS sends the structure's "email" (or
    "email-json") key, else "default", as the e-mail body (email-json: inside the JSON envelope
    HTTP/S subscribers get). We check the structure and the size in bytes on Publish, and record
    each e-mail delivery (SNS's unsubscribe footer aside) for SnsDeliveries to answer."""
    from moto.sns.exceptions import InvalidParameterValue
    from moto.sns.models import MAXIMUM_MESSAGE_LENGTH, SNSBackend, Subscription

    original_publish = SNSBackend.publish

    def publish(self, message, arn, *args, **kwargs):
        if len(message.encode("utf-8")) > MAXIMUM_MESSAGE_LENGTH:
            raise InvalidParameterValue("Invalid parameter: Message too long")
        if kwargs.get("message_structure") == "json":
            _structured_default_or_refuse(message)
        return original_publish(self, message, arn, *args, **kwargs)

    SNSBackend.publish = publish
    original_deliver = Subscription.publish

    def deliver(self, message, message_id, subject=None, message_attributes=None, **kwargs):
        if self.protocol not in ("email", "email-json"):
            return original_deliver(
                self, message, message_id, subject, message_attributes, **kwargs
            )
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        if kwargs.get("message_structure") == "json":
            message = self._parse_message_structure(message, self.protocol)
        if self.protocol == "email-json":
            message = json.dumps(self.get_post_data(message, message_id, subject))
        with _deliveries_lock:
            _deliveries.setdefault(self.arn, []).append(
                {"message_id": message_id, "subject": subject, "message": message}
            )

    Subscription.publish = deliver


class SnsDeliveries:
    """WSGI middleware: `GET /_firebreak/sns/deliveries?subscription=<ARN>` answers what that
    e-mail or email-json subscription was sent, in order ({"deliveries": [{"message_id",
    "subject", "message"}]}); the rest is the next app's. A test control, not a fidelity fix."""

    PATH = "/_firebreak/sns/deliveries"

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "") != self.PATH:
            return self.app(environ, start_response)
        from urllib.parse import parse_qs

        arn = (parse_qs(environ.get("QUERY_STRING", "")).get("subscription") or [""])[0]
        if environ.get("REQUEST_METHOD", "GET") != "GET" or not arn:
            status, answer = "400 Bad Request", {"error": "GET with ?subscription=<ARN>"}
        else:
            with _deliveries_lock:
                status, answer = "200 OK", {"deliveries": list(_deliveries.get(arn, []))}
        payload = json.dumps(answer).encode()
        start_response(
            status,
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]
