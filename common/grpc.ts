// The gRPC face every ServiceRadar checker shows its agent or poller:
// grpc.health.v1.Health/Check, then monitoring.AgentService/GetStatus whose
// `message` is a JSON document. The service supplies one status callback; both
// RPCs answer from it, so "healthy" and "available" can never disagree (the
// agent calls Check first and never asks for details when it is not SERVING).
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { loadTls, type SecurityConfig } from './security.js';
import type { Logger } from './log.js';

export interface StatusRequest { service_name: string; service_type: string; details: string; port: number }

export interface CheckerStatus {
  available: boolean;
  /** Sent as JSON text in StatusResponse.message. */
  message: Record<string, unknown>;
}

export interface CheckerServerOptions {
  /** host:port; an empty host (":50084") listens on every IPv4 and IPv6 address. */
  listen: string;
  security: SecurityConfig;
  /** Echoed in responses when the request leaves them empty. */
  serviceName: string;
  serviceType: string;
  status(req: StatusRequest): Promise<CheckerStatus> | CheckerStatus;
  log: Logger;
}

export interface CheckerServer {
  /** The bound port (useful with port 0). */
  port: number;
  stop(): Promise<void>;
}

const SERVING = 'SERVING';
const NOT_SERVING = 'NOT_SERVING';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

function loadServices(): { health: grpc.ServiceDefinition; agent: grpc.ServiceDefinition } {
  const def = protoLoader.loadSync(['health.proto', 'monitoring.proto'], {
    includeDirs: [PROTO_DIR], keepCase: true, longs: Number, enums: String, defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    monitoring: { AgentService: grpc.ServiceClientConstructor };
  };
  return { health: pkg.grpc.health.v1.Health.service, agent: pkg.monitoring.AgentService.service };
}

/** ":50084" -> "[::]:50084" (dual stack); other forms pass through. */
export function grpcBindAddress(listen: string): string {
  return listen.startsWith(':') ? `[::]${listen}` : listen;
}

function credentials(security: SecurityConfig): grpc.ServerCredentials {
  const tls = loadTls(security);
  if (!tls) return grpc.ServerCredentials.createInsecure();
  // true: a client without a certificate signed by our CA is refused in the handshake.
  return grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
}

export async function startCheckerServer(opts: CheckerServerOptions): Promise<CheckerServer> {
  const { health, agent } = loadServices();
  const server = new grpc.Server();

  const safeStatus = async (req: StatusRequest): Promise<CheckerStatus> => {
    try {
      return await opts.status(req);
    } catch (err) {
      opts.log.error({ err: (err as Error).message }, 'status callback failed');
      return { available: false, message: { error: (err as Error).message } };
    }
  };

  server.addService(health, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const name = call.request.service;
      // The protocol: "" is the server as a whole; an unknown name is NOT_FOUND.
      if (name !== '' && name !== opts.serviceName) {
        cb({ code: grpc.status.NOT_FOUND, details: `unknown service "${name}"` });
        return;
      }
      safeStatus({ service_name: name, service_type: '', details: '', port: 0 })
        .then((s) => cb(null, { status: s.available ? SERVING : NOT_SERVING }));
    },
  });

  server.addService(agent, {
    GetStatus: (call: grpc.ServerUnaryCall<StatusRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const started = process.hrtime.bigint();
      safeStatus(call.request).then((s) => {
        cb(null, {
          available: s.available,
          message: JSON.stringify(s.message),
          service_name: call.request.service_name || opts.serviceName,
          service_type: call.request.service_type || opts.serviceType,
          response_time: Number(process.hrtime.bigint() - started),
        });
      });
    },
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(grpcBindAddress(opts.listen), credentials(opts.security), (err, bound) => (err ? reject(new Error(`grpc listen ${opts.listen}: ${err.message}`)) : resolve(bound)));
  });
  opts.log.info({ listen: opts.listen, port, tls: opts.security.mode }, 'grpc checker server listening');

  return {
    port,
    stop: () => new Promise<void>((resolve) => {
      // Let in-progress calls finish, but never wait on a client forever.
      const timer = setTimeout(() => server.forceShutdown(), 2000);
      server.tryShutdown(() => { clearTimeout(timer); resolve(); });
    }),
  };
}
