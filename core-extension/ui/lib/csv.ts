// CSV as RFC 4180 writes it: CRLF line ends, fields quoted when they hold a
// comma, quote or line break. A text cell that a spreadsheet would run as a
// formula (= + - @ first) gets a leading apostrophe; numbers are written as numbers.

export type CsvCell = string | number | null;

function field(cell: CsvCell): string {
  if (cell === null) return '';
  if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : '';
  const text = /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  return [header, ...rows].map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

/** A file name for a download: "netflow-src_ip-2025-04-01_2025-04-30.csv" */
export function csvFileName(parts: readonly string[]): string {
  return `${['netflow', ...parts].join('-').replace(/[^A-Za-z0-9._-]+/g, '_')}.csv`;
}
