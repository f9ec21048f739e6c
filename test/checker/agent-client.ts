// What the ServiceRadar agent does to an external checker, written against
// the wire format by hand (not from our .proto files): Health/Check with
// service "", then AgentService/GetStatus, then JSON.parse of `message`.
import * as grpc from '@grpc/grpc-js';

export interface AgentView {
  healthStatus: number;
  available: boolean;
  message: string;
  serviceName: string;
  serviceType: string;
  responseTimeNs: number;
}

export const SERVING = 1;
export const NOT_SERVING = 2;

function field(no: number, text: string): Buffer {
  const bytes = Buffer.from(text);
  if (!bytes.length) return Buffer.alloc(0);
  return Buffer.concat([Buffer.from([(no << 3) | 2, bytes.length]), bytes]);
}

function varint(buf: Buffer, at: number): [value: number, next: number] {
  let value = 0;
  let mul = 1;
  for (;;) {
    const b = buf[at++]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) return [value, at];
    mul *= 128;
  }
}

/** Field number -> last value (numbers for varints, strings for length-delimited). */
function parse(buf: Buffer): Map<number, number | string> {
  const out = new Map<number, number | string>();
  let at = 0;
  while (at < buf.length) {
    const [key, next] = varint(buf, at);
    at = next;
    if ((key & 7) === 0) { const [v, n] = varint(buf, at); out.set(key >>> 3, v); at = n; }
    else if ((key & 7) === 2) { const [len, n] = varint(buf, at); out.set(key >>> 3, buf.subarray(n, n + len).toString()); at = n + len; }
    else throw new Error(`unexpected wire type ${key & 7}`);
  }
  return out;
}

function unary(client: grpc.Client, path: string, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, request, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res!)));
  });
}

export function agentClient(address: string, creds = grpc.credentials.createInsecure()): grpc.Client {
  return new grpc.Client(address, creds);
}

/** Health/Check(""): the ServingStatus number. */
export async function healthCheck(client: grpc.Client, service = ''): Promise<number> {
  const res = parse(await unary(client, '/grpc.health.v1.Health/Check', field(1, service)));
  return Number(res.get(1) ?? 0);
}

export async function getStatus(client: grpc.Client, serviceName: string, serviceType: string): Promise<Omit<AgentView, 'healthStatus'>> {
  const res = parse(await unary(client, '/monitoring.AgentService/GetStatus', Buffer.concat([field(1, serviceName), field(2, serviceType)])));
  return {
    available: res.get(1) === 1,
    message: String(res.get(2) ?? ''),
    serviceName: String(res.get(3) ?? ''),
    serviceType: String(res.get(4) ?? ''),
    responseTimeNs: Number(res.get(5) ?? 0),
  };
}

/** The agent's sequence; returns the parsed details only when it would (SERVING, valid JSON). */
export async function agentCheck(client: grpc.Client, serviceName = 'netflow', serviceType = 'grpc'): Promise<AgentView & { details: Record<string, unknown> }> {
  const healthStatus = await healthCheck(client);
  if (healthStatus !== SERVING) throw Object.assign(new Error('Service reported unhealthy'), { healthStatus });
  const status = await getStatus(client, serviceName, serviceType);
  // The agent reports "invalid details format" when this fails.
  const details = JSON.parse(status.message) as Record<string, unknown>;
  return { healthStatus, ...status, details };
}
