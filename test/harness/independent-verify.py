#!/usr/bin/python3
# An independent implementation of the inbound checks, for comparison with ours: SPF by pyspf,
# DKIM and ARC by dkimpy, DMARC by authheaders (Debian's python3-spf, python3-dkim and
# python3-authheaders), given the same message (stdin), client IP, HELO name and MAIL FROM, and
# asking the same DNS server (dnspython pointed at it; no system resolver).
#
# Usage: independent-verify.py DNS_HOST:PORT IP HELO MAIL_FROM  < message
# Prints one JSON object: {"spf": result, "dkim": [{"d", "s", "result"}], "arc": result,
#                          "dmarc": result, "policy": p}.
import json, sys
import dns.resolver

host, port = sys.argv[1].rsplit(':', 1)
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = [host]
resolver.port = int(port)
resolver.lifetime = 3
dns.resolver.default_resolver = resolver  # pyspf, dkimpy and authheaders all ask dnspython's default

import os, tempfile
import spf, dkim
import authheaders.dmarc_lookup
from authheaders import check_arc, check_dmarc

# The test domains live under .test, a reserved TLD the Public Suffix List does not name;
# without it there, authheaders would take "test" itself for the organisational domain and
# align pass.test with any other .test domain. Real TLDs behave this way through the list.
with open(authheaders.dmarc_lookup.get_suffix_list_file_name()) as f:
    suffixes = f.read()
psl = tempfile.NamedTemporaryFile('w', suffix='.dat', delete=False)
psl.write(suffixes + '\ntest\n')
psl.close()
authheaders.dmarc_lookup.get_suffix_list_file_name = lambda: psl.name
from authres import SPFAuthenticationResult, DKIMAuthenticationResult

ip, helo, mail_from = sys.argv[2], sys.argv[3], sys.argv[4]
message = sys.stdin.buffer.read()

def txt(name, timeout=3):
    qname = name.decode() if isinstance(name, bytes) else name
    try:
        answer = resolver.resolve(qname, 'TXT', lifetime=timeout)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    return b''.join(answer[0].strings)

spf_result, _ = spf.check2(ip, mail_from, helo, timeout=3, querytime=5)

dkim_results = []
d = dkim.DKIM(message)
count = len([h for h in d.headers if h[0].lower() == b'dkim-signature'])
for i in range(count):
    try:
        result = 'pass' if d.verify(idx=i, dnsfunc=txt) else 'fail'
    except dns.exception.DNSException:
        result = 'temperror'
    except Exception:
        result = 'fail'
    dkim_results.append({'d': d.domain.decode() if d.domain else None, 's': d.selector.decode() if d.selector else None, 'result': result})

arc = check_arc(message, dnsfunc=txt)

# DMARC: authheaders takes the SPF and DKIM results as authres objects.
spf_ar = SPFAuthenticationResult(result=spf_result, smtp_mailfrom=mail_from or ('postmaster@' + helo), smtp_helo=helo)
passing = [r for r in dkim_results if r['result'] == 'pass']
dkim_ar = DKIMAuthenticationResult(result=passing[0]['result'] if passing else (dkim_results[0]['result'] if dkim_results else 'none'),
                                   header_d=(passing or dkim_results or [{'d': ''}])[0]['d'] or '')
try:
    dmarc = check_dmarc(message, spf_result=spf_ar, dkim_result=dkim_ar)  # dnspython default resolver: ours
    dmarc_result, policy = dmarc.result, getattr(dmarc, 'policy', None)
except dns.exception.DNSException:
    dmarc_result, policy = 'temperror', None

os.unlink(psl.name)
print(json.dumps({'spf': spf_result, 'dkim': dkim_results, 'arc': arc.result, 'dmarc': dmarc_result, 'policy': policy}))
