#!/usr/bin/python3
# Reads a message back over IMAP with Python's imaplib (a client independent of ours):
# logs in, opens INBOX read-only, finds the messages whose X-E2E-Id header is the given
# id and writes each one's full text (RFC822) to stdout. Exits 1 unless exactly one.
#   imap-fetch.py <host> <port> <user> <password> <id>
import imaplib
import sys

host, port, user, password, wanted = sys.argv[1:6]
imap = imaplib.IMAP4(host, int(port))
imap.login(user, password)
imap.select('INBOX', readonly=True)
_, found = imap.search(None, 'HEADER', 'X-E2E-Id', wanted)
numbers = found[0].split()
for n in numbers:
    _, parts = imap.fetch(n, '(RFC822)')
    sys.stdout.buffer.write(parts[0][1])
imap.logout()
print(f'{len(numbers)} message(s) with X-E2E-Id {wanted}', file=sys.stderr)
sys.exit(0 if len(numbers) == 1 else 1)
