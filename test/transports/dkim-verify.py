#!/usr/bin/python3
# Verifies every DKIM signature of the message on stdin with dkimpy (an independent
# implementation), fetching key records from the DNS server given as host:port through
# dnspython, not the system resolver. Prints one line per signature: "<d> <s> pass|fail",
# and exits 0 only when there is at least one signature and all pass.
import sys
import dkim
import dns.resolver

host, port = sys.argv[1].rsplit(':', 1)
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = [host]
resolver.port = int(port)

def txt(name, timeout=5):
    qname = name.decode() if isinstance(name, bytes) else name
    try:
        answer = resolver.resolve(qname, 'TXT', lifetime=timeout)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    return b''.join(answer[0].strings)

message = sys.stdin.buffer.read()
d = dkim.DKIM(message)
count = len([h for h in d.headers if h[0].lower() == b'dkim-signature'])
ok = count > 0
for i in range(count):
    passed = d.verify(idx=i, dnsfunc=txt)
    print(d.domain.decode(), d.selector.decode(), 'pass' if passed else 'fail')
    ok = ok and passed
sys.exit(0 if ok else 1)
