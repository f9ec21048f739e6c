// The poller's netflow check on the core-extension's gRPC port: grpc.health.v1
// and monitoring.AgentService/GetStatus (ServiceRadar's checker protocol, via
// common/grpc.ts), answering service_type "netflow" with the pipeline status.
import { startCheckerServer, type CheckerServer, type StatusRequest } from '../../common/grpc.js';
import type { SecurityConfig } from '../../common/security.js';
import type { Logger } from '../../common/log.js';
import type { PipelineStatus } from './status.js';

export const SERVICE_TYPE = 'netflow';

export function startPollerServer(opts: { listen: string; security: SecurityConfig; serviceName: string; status: PipelineStatus; log: Logger }): Promise<CheckerServer> {
  return startCheckerServer({
    listen: opts.listen,
    security: opts.security,
    serviceName: opts.serviceName,
    serviceType: SERVICE_TYPE,
    log: opts.log,
    status: (req: StatusRequest) => {
      if (req.service_type !== '' && req.service_type !== SERVICE_TYPE) {
        return { available: false, message: { error: `this endpoint answers service_type "${SERVICE_TYPE}", not "${req.service_type.slice(0, 40)}"` } };
      }
      return opts.status.get();
    },
  });
}
