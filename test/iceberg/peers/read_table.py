"""Reads the netflow Iceberg table with independent implementations (pyiceberg,
and DuckDB's iceberg extension) and prints what they see as one JSON object.

Input: one JSON argument:
  {"static": "<table dir>"} or {"rest": "<uri>", "table": "ns.name"},
  optional "snapshot_id", "samples": [{"timestamp": ms, "src_ip": s, "src_port": n}],
  optional "ranges": [[from_ms, to_ms], ...] (row counts per time range),
  optional "duckdb": false to skip DuckDB.
"""
import json
import os
import sys
from datetime import datetime, timezone
from urllib.parse import urlparse

import duckdb
import pyarrow.compute as pc
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.expressions import And, GreaterThanOrEqual, LessThan
from pyiceberg.table import StaticTable

NUMERIC = ["src_port", "dst_port", "protocol", "bytes", "packets", "source_id", "input_if", "output_if",
           "tcp_flags", "tos", "src_as", "dst_as", "src_mask", "dst_mask", "sampling_rate", "ip_version", "flow_version"]
TIMES = ["timestamp", "flow_start", "time_received"]
KEY = ["timestamp", "src_ip", "dst_ip", "src_port", "dst_port", "bytes", "packets", "flow_start"]


def ms(v):
    return int(v.timestamp() * 1000) if isinstance(v, datetime) else v


def iso(ms_value):
    return datetime.fromtimestamp(ms_value / 1000, tz=timezone.utc).isoformat()


def load(spec):
    if "static" in spec:
        root = spec["static"]
        hint = open(os.path.join(root, "metadata", "version-hint.text")).read().strip()
        return StaticTable.from_metadata(os.path.join(root, "metadata", f"v{hint}.metadata.json"))
    catalog = RestCatalog("rest", uri=spec["rest"])
    return catalog.load_table(spec["table"])


def summarize_arrow(tbl):
    out = {"rows": tbl.num_rows, "sums": {}, "time_sums": {}}
    for c in NUMERIC:
        out["sums"][c] = int(pc.sum(tbl.column(c)).as_py() or 0)
    for c in TIMES:
        # Python ints: a sum of microsecond times overflows int64.
        out["time_sums"][c] = str(sum(v // 1000 for v in pc.cast(tbl.column(c), "int64").to_pylist()))
    days = pc.value_counts(pc.strftime(tbl.column("timestamp"), format="%Y-%m-%d")).to_pylist()
    out["per_day"] = {d["values"]: d["counts"] for d in days}
    keys = set(zip(*[tbl.column(k).to_pylist() for k in KEY]))
    out["distinct_keys"] = len(keys)
    return out


def pyiceberg_view(spec):
    table = load(spec)
    md = table.metadata
    snap = md.snapshot_by_id(spec["snapshot_id"]) if spec.get("snapshot_id") else table.current_snapshot()
    scan = table.scan(snapshot_id=snap.snapshot_id) if snap else table.scan()
    tbl = scan.to_arrow()
    out = summarize_arrow(tbl)
    out["schema"] = [{"id": f.field_id, "name": f.name, "type": str(f.field_type), "required": f.required} for f in table.schema().fields]
    out["spec"] = [{"field_id": f.field_id, "name": f.name, "transform": str(f.transform), "source_id": f.source_id} for f in table.spec().fields]
    out["format_version"] = md.format_version
    out["snapshot_id"] = snap.snapshot_id if snap else None
    out["snapshot_ids"] = [s.snapshot_id for s in md.snapshots]
    out["summaries"] = [{"operation": s.summary.operation.value, **s.summary.additional_properties} for s in md.snapshots]
    out["operation"] = snap.summary.operation.value if snap else None
    out["manifests"] = len(snap.manifests(table.io)) if snap else 0
    out["metadata_location"] = table.metadata_location
    files = list(scan.plan_files())
    out["files"] = sorted(f.file.file_path for f in files)
    out["file_partitions"] = sorted({f.file.partition[0] for f in files})
    out["file_bytes"] = sum(f.file.file_size_in_bytes for f in files)
    out["ranges"] = []
    for lo, hi in spec.get("ranges", []):
        f = And(GreaterThanOrEqual("timestamp", iso(lo)), LessThan("timestamp", iso(hi)))
        rscan = table.scan(row_filter=f, snapshot_id=snap.snapshot_id) if snap else table.scan(row_filter=f)
        out["ranges"].append({"rows": rscan.to_arrow().num_rows, "files": sorted(t.file.file_path for t in rscan.plan_files())})
    out["samples"] = []
    for s in spec.get("samples", []):
        rows = tbl.filter(pc.and_(pc.and_(pc.equal(pc.cast(tbl.column("timestamp"), "int64"), s["timestamp"] * 1000),
                                          pc.equal(tbl.column("src_ip"), s["src_ip"])),
                                  pc.equal(tbl.column("src_port"), s["src_port"]))).to_pylist()
        out["samples"].append([{k: ms(v) for k, v in r.items()} for r in rows])
    return out


def duckdb_view(location, spec):
    sp = next(p for p in sys.path if p.endswith("site-packages") and os.path.isdir(os.path.join(p, "duckdb_extension_iceberg")))
    con = duckdb.connect(config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"})
    for ext in ("avro", "iceberg"):
        con.execute(f"LOAD '{sp}/duckdb_extension_{ext}/extensions/v{duckdb.__version__}/{ext}.duckdb_extension'")
    con.execute("SET TimeZone='UTC'")
    args = f"'{location}'"
    if spec.get("snapshot_id"):
        args += f", snapshot_from_id => {int(spec['snapshot_id'])}"
    scan = f"iceberg_scan({args})"
    out = {"rows": con.execute(f"SELECT count(*) FROM {scan}").fetchone()[0], "sums": {}, "time_sums": {}}
    for c in NUMERIC:
        out["sums"][c] = int(con.execute(f"SELECT coalesce(sum({c}), 0) FROM {scan}").fetchone()[0])
    for c in TIMES:
        out["time_sums"][c] = str(int(con.execute(f"SELECT coalesce(sum(epoch_ms({c})), 0) FROM {scan}").fetchone()[0]))
    out["per_day"] = {str(d): n for d, n in con.execute(f"SELECT strftime(timestamp, '%Y-%m-%d'), count(*) FROM {scan} GROUP BY 1").fetchall()}
    out["distinct_keys"] = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {', '.join(KEY)} FROM {scan})").fetchone()[0]
    out["ranges"] = [con.execute(f"SELECT count(*) FROM {scan} WHERE epoch_ms(timestamp) >= ? AND epoch_ms(timestamp) < ?", [lo, hi]).fetchone()[0]
                     for lo, hi in spec.get("ranges", [])]
    out["samples"] = []
    for s in spec.get("samples", []):
        cur = con.execute(f"SELECT * REPLACE ({', '.join(f'epoch_ms({c}) AS {c}' for c in TIMES)}) FROM {scan} WHERE epoch_ms(timestamp) = ? AND src_ip = ? AND src_port = ?", [s["timestamp"], s["src_ip"], s["src_port"]])
        names = [d[0] for d in cur.description]
        out["samples"].append([{k: ms(v) for k, v in zip(names, row)} for row in cur.fetchall()])
    return out


def main():
    spec = json.loads(sys.argv[1])
    result = {"pyiceberg": pyiceberg_view(spec)}
    if spec.get("duckdb", True):
        # DuckDB reads the folder (version-hint.text) for the filesystem catalog, and
        # the exact metadata file the REST catalog names otherwise.
        location = spec["static"] if "static" in spec else result["pyiceberg"]["metadata_location"]
        if location.startswith("file:"):
            location = urlparse(location).path
        result["duckdb"] = duckdb_view(location, spec)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
