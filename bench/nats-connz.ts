// Messages between the MTA and nats-server, counted by the server (its monitoring endpoint
// /connz: in_msgs = messages the client published, out_msgs = messages delivered to it), over
// open and closed connections. Every JetStream API request, publish, pull and ack the MTA
// sends is one in_msg; each reply, PubAck and pulled message one out_msg. Only the MTA
// connects to the benchmark's nats-server, so the sums are the MTA's.

export interface NatsTraffic {
  /** Messages the MTA sent to the server. */
  readonly in: number;
  /** Messages the server sent to the MTA. */
  readonly out: number;
}

interface Connz {
  readonly connections?: readonly { in_msgs?: number; out_msgs?: number }[];
}

export async function natsTraffic(monitorPort: number): Promise<NatsTraffic> {
  const res = await fetch(`http://127.0.0.1:${monitorPort}/connz?state=all&limit=100000`);
  if (!res.ok) throw new Error(`nats-server /connz answered ${res.status}`);
  const body = (await res.json()) as Connz;
  let inMsgs = 0;
  let outMsgs = 0;
  for (const c of body.connections ?? []) {
    inMsgs += c.in_msgs ?? 0;
    outMsgs += c.out_msgs ?? 0;
  }
  return { in: inMsgs, out: outMsgs };
}
