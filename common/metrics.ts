// Prometheus metrics: one registry per service module, served on /metrics by
// whichever HTTP server the service has (or a small one of its own).
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  return registry;
}

/** Serves `GET /metrics` of the given registries; resolves once listening. */
export async function serveMetrics(registries: Registry[], host: string, port: number): Promise<Server> {
  const merged = Registry.merge(registries);
  const server = createServer(async (req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': merged.contentType }).end(await merged.metrics());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return server;
}
