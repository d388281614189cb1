// A preview of a dataframe output: its first rows as a table, read in the browser from the
// files the SDK wrote (Parquet, its default, through hyparquet; or CSV). Values are text
// nodes; a frame too large to fetch whole is offered for download only.

import { useState } from "preact/hooks";
import { dataFiles, type DataFile } from "../download";
import type { DataOwner } from "./Literal";

/** Rows the preview shows. */
const PREVIEW_ROWS = 20;
/** Largest file the preview fetches. */
const MAX_PREVIEW_BYTES = 16 * 1024 * 1024;

type Table = { columns: string[]; rows: unknown[][] };

export function DataFramePreview({ uri, format, owner }: { uri: string; format: string; owner: DataOwner }) {
  const [table, setTable] = useState<Table | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const load = async () => {
    setBusy(true);
    try {
      setTable(await preview(await dataFiles(owner.scope, owner.run, uri), format));
      setProblem(null);
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  if (!table) {
    return (
      <>
        <button class="link preview" onClick={load} disabled={busy}>preview</button>
        {problem && <span class="error-text"> {problem}</span>}
      </>
    );
  }
  return (
    <div class="dataframe">
      <table class="frame">
        <thead>
          <tr>{table.columns.map((column) => <th key={column}>{column}</th>)}</tr>
        </thead>
        <tbody>
          {table.rows.map((row, index) => (
            <tr key={index}>{row.map((cell, column) => <td key={column}>{cellText(cell)}</td>)}</tr>
          ))}
        </tbody>
      </table>
      <span class="muted">first {table.rows.length} rows</span>
    </div>
  );
}

function cellText(cell: unknown): string {
  if (cell === null || cell === undefined) return "";
  if (typeof cell === "bigint") return cell.toString();
  if (cell instanceof Date) return cell.toISOString();
  if (typeof cell === "object") return JSON.stringify(cell, (_key, value) => (typeof value === "bigint" ? value.toString() : value));
  return String(cell);
}

async function preview(files: DataFile[], format: string): Promise<Table> {
  const csv = format === "csv";
  const file = files.find((candidate) => candidate.name.endsWith(csv ? ".csv" : ".parquet")) ?? files[0];
  if (!file) throw new Error("the dataframe has no files");
  if (file.size > MAX_PREVIEW_BYTES) throw new Error(`too large to preview (${file.size} bytes); download it`);
  const response = await fetch(file.url);
  if (!response.ok) throw new Error(`reading the dataframe failed (HTTP ${response.status})`);
  if (csv) return csvPreview(await response.text());
  // The Parquet reader is loaded the first time a preview needs it.
  const { parquetReadObjects } = await import("hyparquet");
  const rows = (await parquetReadObjects({ file: await response.arrayBuffer(), rowEnd: PREVIEW_ROWS })) as Record<string, unknown>[];
  const columns = rows.length ? Object.keys(rows[0]) : [];
  return { columns, rows: rows.map((row) => columns.map((column) => row[column])) };
}

/** The header and first rows of CSV text (quoted fields with commas and doubled quotes). */
function csvPreview(text: string): Table {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  for (let at = 0; at < text.length && records.length <= PREVIEW_ROWS; at++) {
    const char = text[at];
    if (quoted) {
      if (char === '"' && text[at + 1] === '"') {
        field += '"';
        at++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      record.push(field);
      field = "";
    } else if (char === "\n") {
      record.push(field.replace(/\r$/, ""));
      records.push(record);
      record = [];
      field = "";
    } else field += char;
  }
  if (field || record.length) records.push([...record, field]);
  const [columns = [], ...rows] = records;
  return { columns, rows: rows.slice(0, PREVIEW_ROWS) };
}
