"""Per (exporter, source id) totals of the netflow Iceberg table, read by DuckDB's
iceberg extension (not by our code): flows, bytes, packets, distinct next hops
(the load generator makes each flow's next hop unique per source, so
flows - distinct = duplicates), and optionally which marker keys are present.

Input: one JSON argument {"table": "<table folder>", "markers": [[exporter, source_id, next_hop], ...]}.
Output: one JSON object {"sources": [...], "markers_found": [[...], ...]}; no table yet = no rows.
"""
import json
import os
import sys

import duckdb


def main():
    spec = json.loads(sys.argv[1])
    table = spec["table"]
    if not os.path.exists(os.path.join(table, "metadata", "version-hint.text")):
        print(json.dumps({"sources": [], "markers_found": []}))
        return
    sp = next(p for p in sys.path if p.endswith("site-packages") and os.path.isdir(os.path.join(p, "duckdb_extension_iceberg")))
    con = duckdb.connect(config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"})
    for ext in ("avro", "iceberg"):
        con.execute(f"LOAD '{sp}/duckdb_extension_{ext}/extensions/v{duckdb.__version__}/{ext}.duckdb_extension'")
    scan = "iceberg_scan(?)"
    rows = con.execute(
        f"SELECT exporter, source_id, count(*), sum(bytes), sum(packets), count(DISTINCT next_hop) FROM {scan} GROUP BY 1, 2 ORDER BY 1, 2",
        [table]).fetchall()
    sources = [{"exporter": e, "sourceId": int(s), "flows": int(n), "bytes": int(b), "packets": int(p), "distinct": int(d)} for e, s, n, b, p, d in rows]
    found = []
    markers = spec.get("markers", [])
    if markers:
        con.execute("CREATE TEMP TABLE m (exporter VARCHAR, source_id BIGINT, next_hop VARCHAR)")
        con.executemany("INSERT INTO m VALUES (?, ?, ?)", markers)
        found = [list(r) for r in con.execute(
            f"SELECT DISTINCT m.exporter, m.source_id, m.next_hop FROM m JOIN {scan} t USING (exporter, source_id, next_hop)", [table]).fetchall()]
    print(json.dumps({"sources": sources, "markers_found": found}))


main()
