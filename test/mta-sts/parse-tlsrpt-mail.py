#!/usr/bin/python3
# Parses a TLS-RPT report mail (RFC 8460 §5.3) with Python's email, gzip and json packages:
# prints, as JSON, its type, the report type, the TLS-Report-* fields, each part's type, and the
# report the application/tlsrpt+gzip part carries, decoded (null when there is none).
import email, email.policy, gzip, json, sys

msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
out = {'content_type': msg.get_content_type(), 'report_type': msg.get_param('report-type'), 'subject': str(msg['Subject']),
       'report_domain': str(msg['TLS-Report-Domain']), 'submitter': str(msg['TLS-Report-Submitter']), 'to': str(msg['To']),
       'parts': [], 'filename': None, 'report': None}
for part in msg.iter_parts():
    out['parts'].append(part.get_content_type())
    if part.get_content_type() == 'application/tlsrpt+gzip':
        out['filename'] = part.get_filename()
        out['report'] = json.loads(gzip.decompress(part.get_content()))
print(json.dumps(out))
