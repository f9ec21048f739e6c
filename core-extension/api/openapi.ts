// The OpenAPI 3 document of the core-extension's HTTP API, built from the same
// lists the parameter parser validates against, so the two cannot drift.
import { DIMENSIONS, FILTER_KEYS, METRICS } from '../query/model.js';
import { MAX_LIMIT, TIME_RANGES } from './params.js';

const error = { type: 'object', required: ['error'], properties: { error: { type: 'string' }, parameter: { type: 'string' } } };

const queryParams = [
  { name: 'time_range', in: 'query', schema: { type: 'string', enum: TIME_RANGES, default: 'last_1h' }, description: 'Relative range ending now (UTC days for today/yesterday). Use start/end instead for an explicit range.' },
  { name: 'start', in: 'query', schema: { type: 'string' }, description: 'Range start, ISO 8601 or epoch ms (inclusive). Flows are placed by their end time.' },
  { name: 'end', in: 'query', schema: { type: 'string' }, description: 'Range end, ISO 8601 or epoch ms (exclusive); default now.' },
  { name: 'group_by', in: 'query', schema: { type: 'string' }, description: `Comma list of ${[...DIMENSIONS, 'time'].join(', ')}. Empty: one total row.` },
  { name: 'interval', in: 'query', schema: { type: 'string', pattern: '^(\\d+(s|m|h|d|w)|month)$' }, description: 'Bucket width for time (10s, 1m, 5m, 1h, 1d, 1w, or month = calendar months, UTC). Default: 60-300 points.' },
  {
    name: 'filter', in: 'query', style: 'form', explode: true, schema: { type: 'array', items: { type: 'string' } },
    description: `Repeatable; each a comma list of key=value terms, all ANDed. Keys: ${FILTER_KEYS.join(', ')} (ip and port match either side). IPs may be CIDR blocks; protocol a number or name (tcp, udp, icmp...); value alternatives separated by | are ORed.`,
    example: 'src_ip=192.168.1.0/24,protocol=tcp|udp',
  },
  { name: 'metric', in: 'query', schema: { type: 'string', enum: METRICS, default: 'bytes' }, description: 'Ranking and reported metric; bytes and packets are multiplied by the sampling rate, flows counts flow records. bps/pps per bucket, or over the whole range.' },
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 10 }, description: 'Top-N groups; the rest are summed in one row with "other": true. With time plus other fields, the top N is chosen over the whole range.' },
  { name: 'order', in: 'query', schema: { type: 'string', enum: ['desc', 'asc'], default: 'desc' } },
  { name: 'as_of', in: 'query', schema: { type: 'string' }, description: 'Iceberg snapshot id or ISO time: answer from that snapshot (historical tier). A snapshot superseded over snapshot_thin_after (1 h) ago is kept only if it was the last of its UTC hour; an ISO time then answers from the state at the end of the hour before.' },
  { name: 'format', in: 'query', schema: { type: 'string', enum: ['json', 'csv'], default: 'json' } },
];

const resultRow = {
  type: 'object',
  description: 'Group fields (proto names; protocol is a number), timestamp (bucket start, UTC) when grouped by time, and the sums.',
  properties: {
    ...Object.fromEntries(DIMENSIONS.map((d) => [d, { oneOf: [{ type: 'string' }, { type: 'integer' }], nullable: true }])),
    timestamp: { type: 'string', format: 'date-time' },
    bytes: { type: 'number' }, packets: { type: 'number' }, flows: { type: 'number' },
    bps: { type: 'number' }, pps: { type: 'number' },
    other: { type: 'boolean', description: 'The sum of every group outside the top N' },
  },
};

const queryResponse = {
  type: 'object',
  required: ['results', 'meta'],
  properties: {
    results: { type: 'array', items: { $ref: '#/components/schemas/Row' } },
    meta: {
      type: 'object',
      properties: {
        backend: { type: 'string', enum: ['clickhouse', 'iceberg', 'iceberg+clickhouse'] },
        tables: { type: 'array', items: { type: 'string' } },
        start: { type: 'string', format: 'date-time' }, end: { type: 'string', format: 'date-time' },
        interval_s: { type: 'integer', nullable: true }, interval: { type: 'string', nullable: true },
        metric: { type: 'string' }, group_by: { type: 'array', items: { type: 'string' } },
        filters: { type: 'array', items: { type: 'string' } }, order: { type: 'string' }, limit: { type: 'integer', nullable: true },
        elapsed_ms: { type: 'number' }, rows_read: { type: 'integer' },
        snapshot_id: { type: 'string', nullable: true },
        boundary: { type: 'string', format: 'date-time', description: 'Where the range was split: Iceberg before, ClickHouse from here on' },
      },
    },
  },
};

function queryOp(summary: string, description: string) {
  return {
    get: {
      summary, description, parameters: queryParams, security: [{ session: [] }, { token: [] }],
      responses: {
        200: { description: 'The answer', content: { 'application/json': { schema: { $ref: '#/components/schemas/QueryResponse' } }, 'text/csv': { schema: { type: 'string' } } } },
        400: { description: 'A bad parameter (named in "parameter")', content: { 'application/json': { schema: error } } },
        401: { description: 'No valid session or token', content: { 'application/json': { schema: error } } },
        503: { description: 'A tier could not answer', content: { 'application/json': { schema: error } } },
        504: { description: 'The query ran out of time (query_timeout)', content: { 'application/json': { schema: error } } },
      },
    },
  };
}

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.0.3',
    info: { title: 'serviceradar-netflow core-extension', version: '1', description: 'One NetFlow query API over the ClickHouse hot tier and the Iceberg cold tier.' },
    paths: {
      '/api/login': {
        post: {
          summary: 'Log in; sets the srnf_session cookie',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['username', 'password'], properties: { username: { type: 'string' }, password: { type: 'string' } } } } } },
          responses: {
            200: { description: 'Logged in', content: { 'application/json': { schema: { $ref: '#/components/schemas/Session' } } } },
            401: { description: 'invalid credentials', content: { 'application/json': { schema: error } } },
            429: { description: 'Too many failed logins from this address', content: { 'application/json': { schema: error } } },
          },
        },
      },
      '/api/logout': { post: { summary: 'End the session', responses: { 204: { description: 'Logged out' } } } },
      '/api/session': {
        get: {
          summary: 'The current session', security: [{ session: [] }, { token: [] }],
          responses: { 200: { description: 'Logged in', content: { 'application/json': { schema: { $ref: '#/components/schemas/Session' } } } }, 401: { description: 'Not logged in' } },
        },
      },
      '/api/netflow': queryOp('Traffic for any range', 'ClickHouse answers ranges within realtime_threshold of now; older ranges come from Iceberg, the newest part Iceberg does not hold yet from ClickHouse.'),
      '/api/netflow/realtime': queryOp('Traffic from the hot tier (ClickHouse) only', 'Same parameters; always ClickHouse.'),
      '/api/netflow/historical': queryOp('Traffic from the cold tier (Iceberg) only', 'Same parameters; always DuckDB over the Iceberg table.'),
      '/api/netflow/status': {
        get: {
          summary: 'Pipeline status (the poller check\'s JSON)', security: [{ session: [] }, { token: [] }],
          responses: { 200: { description: 'Flows and bytes in the last 5 minutes, top talkers, writer lag, tier health', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
      '/api/netflow/openapi.json': { get: { summary: 'This document', security: [{ session: [] }, { token: [] }], responses: { 200: { description: 'OpenAPI 3' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Text exposition format' } } } },
    },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'srnf_session' },
        token: { type: 'http', scheme: 'bearer', description: 'An API token from core.json api_tokens' },
      },
      schemas: {
        Row: resultRow,
        QueryResponse: queryResponse,
        Session: { type: 'object', properties: { username: { type: 'string' }, expires_at: { type: 'string', format: 'date-time', nullable: true } } },
      },
    },
  };
}
