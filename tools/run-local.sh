#!/usr/bin/env bash
# `make run`: the local mail system on its embedded defaults. Everything lives under
# ./.stafette/ (git-ignored): the rendered bundle and DKIM keys, the NATS JetStream store
# (the queue) and the maildirs, so a second run keeps the queue and the keys.
# Ctrl-C stops the MTA (in order: sessions finish, workers hand back their jobs) and NATS.
set -euo pipefail
cd "$(dirname "$0")/.."
state=${STAFETTE_STATE:-$PWD/.stafette}
mkdir -p "$state/mail" "$state/nats" "$state/logs"

nats_port=${STAFETTE_NATS_PORT:-4222}
mx_port=${STAFETTE_MX_PORT:-2525}
submission_port=${STAFETTE_SUBMISSION_PORT:-2587}
submissions_port=${STAFETTE_SUBMISSIONS_PORT:-2465}
ops_port=${STAFETTE_OPS_PORT:-9090}
for port in "$nats_port" "$mx_port" "$submission_port" "$submissions_port" "$ops_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "make run: port $port on 127.0.0.1 is in use (another 'make run'?); stop that first or set STAFETTE_*_PORT" >&2
    exit 1
  fi
done

echo "== Rendering examples/ into $state/render (DKIM keys are generated once and kept)"
./bin/stafette render examples --out "$state/render" --quiet

# The queue seal key (docs/trust-model.md §2.2): made on the first run and kept, like the DKIM
# keys, so mail queued before a restart is still signed after it.
if [ ! -s "$state/queue-seal.key" ]; then
  (umask 077; node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64url') + '\n')" >"$state/queue-seal.key")
fi

nats_server=$(bash tools/go-build/nats-server.sh --print-bin)
pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "== Stopping"
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; wait "${pids[$i]}" 2>/dev/null || true; done
  echo "Stopped. The queue ($state/nats), keys and mail stay for the next 'make run'."
}
trap "stop; exit 0" INT TERM
trap stop EXIT

"$nats_server" -js -a 127.0.0.1 -p "$nats_port" -sd "$state/nats" -n stafette-local >"$state/logs/nats-server.log" 2>&1 &
pids+=($!)

./bin/stafette mta \
  --config-dir "$state/render/bundle" \
  --nats "nats://127.0.0.1:$nats_port" \
  --smtp-host 127.0.0.1 --mx-port "$mx_port" --submission-port "$submission_port" --submissions-port "$submissions_port" \
  --ops-host 127.0.0.1 --ops-port "$ops_port" \
  --local-maildir-root "$state/mail" \
  --queue-seal-key-file "$state/queue-seal.key" \
  --shutdown-timeout 5 \
  --no-mta-sts-server \
  >"$state/logs/mta.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 120); do
  node -e "fetch('http://127.0.0.1:$ops_port/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" && break
  if ! kill -0 "${pids[1]}" 2>/dev/null; then echo "make run: the MTA did not start; see $state/logs/mta.log:" >&2; tail -20 "$state/logs/mta.log" >&2; exit 1; fi
  sleep 0.5
done

# make run installs only what the mail system needs; the client in the examples below is
# one of the tests' packages.
swaks_hint=""
command -v swaks >/dev/null 2>&1 || swaks_hint="

(swaks, used below, is not installed: sudo apt-get install swaks libio-socket-ssl-perl, or make deps)"

cat <<MSG

== Stafette is running (logs: $state/logs/)
  SMTP (MX)              127.0.0.1:$mx_port
  Submission (STARTTLS)  127.0.0.1:$submission_port   implicit TLS: 127.0.0.1:$submissions_port
  Metrics                http://127.0.0.1:$ops_port/metrics   (health: /healthz, /readyz)
  Queue (NATS)           nats://127.0.0.1:$nats_port, stored in $state/nats$swaks_hint

Send a message to a local mailbox, as the Internet would (MX):
  swaks --server 127.0.0.1:$mx_port --from someone@elsewhere.example --to bob@example.com --header 'Subject: hello'

Send one as alice through submission, with STARTTLS and AUTH:
  swaks --server 127.0.0.1:$submission_port --tls --auth PLAIN --auth-user alice@example.com --auth-password change-me-alice \\
        --from alice@example.com --to bob@example.com --header 'Subject: from alice'

Where it lands:        $state/mail/bob@example.com/new/    (aliases: team@, postmaster@ go to alice@)
See the queue:         ./bin/stafette queue stats --nats nats://127.0.0.1:$nats_port   (also: queue list, queue deferred)
Mail to other domains goes to the MX hosts DNS gives for them (outbound port 25).
DNS records to publish: $state/render/dns/example.com.zone

Press Ctrl-C to stop.
MSG
wait "${pids[1]}"
