#!/usr/bin/python3
# The SPF check a next hop runs (pyspf, Debian's python3-spf, as postfix-policyd-spf-python
# uses it), against the test DNS server: prints the result for IP, MAIL FROM and HELO.
# Usage: pyspf-check.py DNS_HOST:PORT IP MAIL_FROM HELO
import sys
import dns.resolver
host, port = sys.argv[1].rsplit(':', 1)
r = dns.resolver.Resolver(configure=False)
r.nameservers = [host]
r.port = int(port)
r.lifetime = 3
dns.resolver.default_resolver = r
import spf
print(spf.check2(sys.argv[2], sys.argv[3], sys.argv[4], timeout=3, querytime=5)[0])
