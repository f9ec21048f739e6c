// The cold-tier sink: each batch the pull loop hands over becomes one append
// snapshot (Parquet files per day, one manifest, a manifest list, a catalog
// commit), and the batch's messages are acknowledged only after the commit.
//
// Exactly once: every snapshot's summary carries the set of stream sequence
// numbers committed so far (seqset.ts). Before writing, and again on every
// commit retry, the batch is filtered against the set in the current
// snapshot, so a message redelivered after a crash (committed, not yet acked)
// or delivered to two instances (ack wait expired) is committed once. Files
// of a commit that never happened are left unreferenced; retention's orphan
// sweep deletes them.
import { randomUUID } from 'node:crypto';
import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { StreamMessage, Sink } from '../pull.js';
import type { Logger } from '../../common/log.js';
import { Counter, Histogram, type Registry } from '../../common/metrics.js';
import type { Catalog, LoadedTable } from './catalog.js';
import { loadOrCreate } from './catalog.js';
import { childLocation, localPath } from './io.js';
import { CommitConflictError, CommitStateUnknownError, currentSnapshot, newSnapshotId } from './metadata.js';
import type { DataFile, ManifestFile } from './manifest.js';
import { Interner, prepareFlows, type PreparedFlows } from './columns.js';
import type { ParquetWriter } from './parquet.js';
import { PARTITION_FIELD_NAME, dayText } from './schema.js';
import * as seqset from './seqset.js';
import { addedEntries, commitSnapshot, crashPoint, writeManifest } from './snapshot.js';

export interface WriterDeps {
  catalog: Catalog;
  parquet: ParquetWriter;
  log: Logger;
  registry: Registry;
  /** The consumer's ack floor (every sequence at or below it is acknowledged); lets the committed set forget old sequences. */
  ackFloor?: () => Promise<number>;
  /** Stream and consumer names recorded in each snapshot. */
  source: string;
  /** The stream's creation time and last sequence, read for each batch: the committed set is of one numbering (seqset.forStream). */
  stream?: () => Promise<seqset.StreamState>;
  maxCommitAttempts?: number;
  /**
   * How long the files of a commit that did not land are reused by its
   * retries. Keep it well under orphan_grace: older unreferenced files may be
   * swept by retention or by another instance's start-up. Default 30 minutes.
   */
  reuseFilesMs?: number;
}

interface Prepared {
  key: string;
  snapshotId: number;
  files: DataFile[];
  manifest: ManifestFile;
  seqs: number[];
  writtenAt: number;
}

export class IcebergWriter implements Sink<PreparedFlows> {
  private prepared: Prepared | undefined;
  private readonly interner = new Interner();
  private readonly committedRecords: Counter;
  private readonly skippedRecords: Counter;
  private readonly conflicts: Counter;
  private readonly commitSeconds: Histogram;

  constructor(private readonly deps: WriterDeps) {
    const registers = [deps.registry];
    this.committedRecords = new Counter({ name: 'netflow_iceberg_committed_records_total', help: 'records committed to the Iceberg table', registers });
    this.skippedRecords = new Counter({ name: 'netflow_iceberg_duplicate_records_total', help: 'redelivered records skipped because their sequence was already committed', registers });
    this.conflicts = new Counter({ name: 'netflow_iceberg_commit_conflicts_total', help: 'commits retried because another commit landed first', registers });
    this.commitSeconds = new Histogram({ name: 'netflow_iceberg_commit_seconds', help: 'time from batch to committed snapshot', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30], registers });
  }

  /**
   * For PullOptions.prepare: checks a message's values and interns its
   * strings once, when it is pulled (a message that fails is dead-lettered).
   */
  readonly prepare = (msg: Pick<StreamMessage, 'flows'>): PreparedFlows => prepareFlows(msg.flows, this.interner);

  async write(messages: StreamMessage<PreparedFlows>[]): Promise<void> {
    const timer = this.commitSeconds.startTimer();
    const attempts = this.deps.maxCommitAttempts ?? 50;
    for (let attempt = 1; ; attempt++) {
      const base = await loadOrCreate(this.deps.catalog);
      // Read after the table: its floor can then never be ahead of the stream for a good reason.
      const stream = await this.deps.stream?.();
      const recorded = seqset.fromSummary(currentSnapshot(base.metadata)?.summary);
      const committed = seqset.forStream(recorded, stream);
      if (committed.floor !== recorded.floor || seqset.formatRanges(committed.ranges) !== seqset.formatRanges(recorded.ranges)) {
        this.deps.log.warn({ was: recorded.stream, now: stream, floor: recorded.floor }, 'the stream was created anew or its numbering went back: the committed sequences it does not hold are forgotten');
      }
      const todo = messages.filter((m) => m.flows.rows > 0 && !seqset.has(committed, m.seq));
      const skipped = messages.filter((m) => m.flows.rows > 0 && seqset.has(committed, m.seq));
      if (!todo.length) {
        this.countSkipped(skipped);
        timer();
        return;
      }
      const prepared = await this.writeFiles(base, todo);
      try {
        const ackFloor = this.deps.ackFloor ? await this.deps.ackFloor().catch(() => 0) : 0;
        const next = seqset.add(committed, prepared.seqs, ackFloor);
        await commitSnapshot(this.deps.catalog, base, {
          snapshotId: prepared.snapshotId,
          operation: 'append',
          manifests: [prepared.manifest],
          keepParentManifests: true,
          added: prepared.files,
          removed: [],
          extra: {
            'serviceradar.source': this.deps.source,
            'serviceradar.writer': WRITER_ID,
            [seqset.SUMMARY_BATCH]: seqset.formatRanges(seqset.toRanges(prepared.seqs)),
            ...seqset.toSummary(next),
          },
        });
        this.prepared = undefined;
        this.countSkipped(skipped);
        const records = prepared.files.reduce((n, f) => n + f.recordCount, 0);
        this.committedRecords.inc(records);
        this.deps.log.debug({ snapshot: prepared.snapshotId, records, files: prepared.files.length }, 'committed snapshot');
        timer();
        return;
      } catch (err) {
        const retry = err instanceof CommitConflictError || err instanceof CommitStateUnknownError;
        if (!retry || attempt >= attempts) throw err;
        if (err instanceof CommitConflictError) this.conflicts.inc();
        this.deps.log.info({ attempt, err: (err as Error).message }, 'commit did not land; reloading and retrying');
        // Loop: reload, re-filter (our own commit may have landed, or another
        // instance may have committed some of these messages), re-commit.
        await sleep(Math.min(1000, 20 * attempt) * (0.5 + Math.random()));
      }
    }
  }

  private countSkipped(skipped: StreamMessage<PreparedFlows>[]): void {
    const n = skipped.reduce((k, m) => k + m.flows.rows, 0);
    if (n) {
      this.skippedRecords.inc(n);
      this.deps.log.info({ records: n, messages: skipped.length }, 'skipped redelivered messages already committed');
    }
  }

  /**
   * Data files and the manifest for these messages, written once and reused
   * by retries of the same set while they are younger than reuseFilesMs
   * and still there.
   */
  private async writeFiles(base: LoadedTable, todo: StreamMessage<PreparedFlows>[]): Promise<Prepared> {
    const key = todo.map((m) => m.seq).join(',');
    const p = this.prepared;
    const young = p !== undefined && Date.now() - p.writtenAt < (this.deps.reuseFilesMs ?? 30 * 60_000);
    if (p?.key === key && young && (await allExist([...p.files.map((f) => f.path), p.manifest.path]))) return p;
    const writtenAt = Date.now();
    const snapshotId = newSnapshotId();
    // Callers other than the pull loop (tools, tests) may hand over messages unprepared.
    const parts = todo.map((m) => m.prepared ?? this.prepare(m));
    const dataDir = childLocation(base.metadata.location, 'data');
    const files = await this.deps.parquet.writeBatch(parts, (day) =>
      childLocation(dataDir, `${PARTITION_FIELD_NAME}=${dayText(day)}/${snapshotId}-${randomUUID()}.parquet`));
    crashPoint('after-data');
    const manifest = await writeManifest(base, snapshotId, addedEntries(files));
    crashPoint('after-manifest');
    this.prepared = { key, snapshotId, files, manifest, seqs: todo.map((m) => m.seq), writtenAt };
    return this.prepared;
  }
}

async function allExist(locations: string[]): Promise<boolean> {
  try {
    await Promise.all(locations.map((l) => access(localPath(l))));
    return true;
  } catch {
    return false;
  }
}

/** Which instance made a commit (host:pid), for operators reading snapshot history. */
const WRITER_ID = `${hostname()}:${process.pid}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
