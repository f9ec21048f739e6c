// Every service's config file, for the generated reference.
import * as checker from '../checker/config.js';
import * as clickhouse from '../consumers/clickhouse/config.js';
import * as iceberg from '../consumers/iceberg/config.js';
import * as core from '../core-extension/config.js';
import type { ConfigFile } from './config-docs.js';

export const CONFIG_FILES: ConfigFile[] = [
  { title: 'Checker (edge)', path: checker.DEFAULT_CONFIG_PATH, command: 'serviceradar-netflow checker', schema: checker.checkerSchema as never },
  { title: 'ClickHouse writer (hot tier)', path: clickhouse.DEFAULT_CONFIG_PATH, command: 'serviceradar-netflow clickhouse-writer', schema: clickhouse.writerSchema as never },
  { title: 'Parquet/Iceberg writer (cold tier)', path: iceberg.DEFAULT_CONFIG_PATH, command: 'serviceradar-netflow parquet-writer', schema: iceberg.parquetWriterSchema as never },
  { title: 'Core extension (API, UI, poller check)', path: core.DEFAULT_CONFIG_PATH, command: 'serviceradar-netflow core', schema: core.coreSchema as never },
];
