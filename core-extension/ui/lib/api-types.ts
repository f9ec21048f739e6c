// The /api/netflow response, as the contract (notes/api-contract.md) gives it.

export type Cell = string | number | boolean | null;

/** Group fields (proto field names) plus the metric; every row also carries bytes, packets, flows. */
export type FlowRow = Record<string, Cell> & { bytes: number; packets: number; flows: number };

export interface FlowMeta {
  backend: string;
  tables: string[];
  start: string;
  end: string;
  interval_s: number | null;
  metric: string;
  group_by: string[];
  elapsed_ms: number;
  rows_read: number;
  snapshot_id?: string;
}

export interface FlowResponse { results: FlowRow[]; meta: FlowMeta }
