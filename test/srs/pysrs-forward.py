#!/usr/bin/python3
# pysrs (Debian python3-srs, SRS.Guarded), an independent SRS implementation: reads JSON lines
# {"op": "forward"|"reverse", "address", "domain", "keys", "now"} on stdin and prints one JSON
# line per input: {"ok": true, "address": ...} or {"ok": false}.
import json, sys, time
from SRS.Guarded import Guarded

for line in sys.stdin:
    req = json.loads(line)
    time.time = lambda: req['now']
    srs = Guarded(secret=req['keys'][0], maxage=21, hashlength=4)
    srs.set_secret(*req['keys'])
    srs.warn = lambda *msg: None
    try:
        if req['op'] == 'forward':
            out = srs.forward(req['address'], req['domain'])
        else:
            out = srs.reverse(req['address'])
        print(json.dumps({'ok': True, 'address': out}))
    except Exception:
        print(json.dumps({'ok': False}))
