#!/usr/bin/python3
# Parses a delivery status notification (RFC 3464) with Python's email package: prints what the
# message says, as JSON: its type, the report type, each part's type, the per-message and
# per-recipient fields of message/delivery-status, and whether the original body came back.
import email, email.policy, json, sys

msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
out = {'content_type': msg.get_content_type(), 'report_type': msg.get_param('report-type'), 'subject': str(msg['Subject']), 'parts': [], 'per_message': {}, 'recipients': [], 'returned': None}
for part in msg.iter_parts():
    out['parts'].append(part.get_content_type())
    if part.get_content_type() == 'message/delivery-status':
        blocks = part.get_payload()  # the per-message block, then one per recipient
        out['per_message'] = {k.lower(): str(v) for k, v in blocks[0].items()}
        out['recipients'] = [{k.lower(): str(v) for k, v in b.items()} for b in blocks[1:]]
    elif part.get_content_type() in ('message/rfc822', 'text/rfc822-headers'):
        payload = part.get_payload()
        out['returned'] = payload[0].as_string() if isinstance(payload, list) else str(payload)
print(json.dumps(out))
