#!/usr/bin/python3
# A sending MTA's side of DSN, with Python's smtplib: one message with MAIL and RCPT options
# (RET=, ENVID=, REQUIRETLS, NOTIFY=, ORCPT=). Reads a JSON request on stdin:
#   {"host", "port", "source": ip or null, "starttls": bool, "login": [user, pass] or null,
#    "from", "to": [...], "mail_options": [...], "rcpt_options": [...], "message"}
# Prints {"code", "reply"} of the end of DATA, or of the command that refused.
import json, smtplib, ssl, sys

req = json.load(sys.stdin)
try:
    s = smtplib.SMTP(req['host'], req['port'], local_hostname='client.sender.test', source_address=(req['source'], 0) if req.get('source') else None, timeout=30)
    s.ehlo()
    if req.get('starttls'):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s.starttls(context=ctx)
        s.ehlo()
    if req.get('login'):
        s.login(*req['login'])
    code, reply = s.mail(req['from'], req.get('mail_options', []))
    if code != 250:
        print(json.dumps({'code': code, 'reply': reply.decode()})); sys.exit(0)
    for rcpt in req['to']:
        code, reply = s.rcpt(rcpt, req.get('rcpt_options', []))
        if code not in (250, 251):
            print(json.dumps({'code': code, 'reply': reply.decode()})); sys.exit(0)
    code, reply = s.data(req['message'].encode())
    s.quit()
    print(json.dumps({'code': code, 'reply': reply.decode()}))
except smtplib.SMTPResponseException as e:
    print(json.dumps({'code': e.smtp_code, 'reply': e.smtp_error.decode(errors='replace')}))
