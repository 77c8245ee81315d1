#!/usr/bin/python3
# Reads a mailbox back over IMAP with Python's imaplib (a real IMAP client): logs in, selects
# INBOX and prints each message's RFC822 text, separated by a line "=====".
# Usage: imap-fetch.py host port user password
import imaplib
import sys

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
imap = imaplib.IMAP4(host, port)
imap.login(user, password)
imap.select('INBOX', readonly=True)
status, data = imap.search(None, 'ALL')
out = []
for num in data[0].split():
    status, parts = imap.fetch(num, '(RFC822)')
    out.append(parts[0][1].decode('utf-8', 'replace'))
imap.logout()
sys.stdout.write('\n=====\n'.join(out))
