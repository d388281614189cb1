// Inputs and outputs rendered by their type: scalars as values, lists and maps as nested
// tables, files and directories as download links, dataframes with a preview of their first
// rows, msgpack-encoded structures as data. Every value is a text node: nothing user-provided
// becomes HTML.

import { useState } from "preact/hooks";
import type { Literal, NamedLiteral } from "../wire";
import { base64Bytes, decodeMsgpack, type Decoded } from "../msgpack";
import { dataFiles, type DataFile } from "../download";
import { DataFramePreview } from "./DataFrame";
import type { Scope } from "../route";

/** Items of a list shown before "N more". */
const LIST_PREVIEW = 50;

export interface DataOwner {
  scope: Scope;
  run: string;
}

export function LiteralTable({ literals, owner }: { literals: NamedLiteral[]; owner: DataOwner }) {
  if (literals.length === 0) return <p class="muted">none</p>;
  return (
    <table class="kv">
      <tbody>
        {literals.map((named) => (
          <tr key={named.name} data-name={named.name}>
            <th>{named.name}</th>
            <td>
              <LiteralView literal={named.value} owner={owner} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function LiteralView({ literal, owner }: { literal: Literal; owner: DataOwner }) {
  if (literal.scalar) return <ScalarView literal={literal} owner={owner} />;
  if (literal.collection) {
    const items = literal.collection.literals ?? [];
    return <ListView items={items} render={(item) => <LiteralView literal={item} owner={owner} />} />;
  }
  if (literal.map) {
    const entries = Object.entries(literal.map.literals ?? {});
    return (
      <table class="kv nested">
        <tbody>
          {entries.map(([key, value]) => (
            <tr key={key}>
              <th>{key}</th>
              <td>
                <LiteralView literal={value} owner={owner} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  if (literal.offloadedMetadata) {
    return (
      <span>
        offloaded value ({literal.offloadedMetadata.sizeBytes ?? "?"} bytes){" "}
        <Download uri={literal.offloadedMetadata.uri} owner={owner} label="download" />
      </span>
    );
  }
  return <span class="muted">empty</span>;
}

function ListView<T>({ items, render }: { items: T[]; render: (item: T) => preact.ComponentChild }) {
  const [all, setAll] = useState(false);
  const shown = all ? items : items.slice(0, LIST_PREVIEW);
  return (
    <div class="list-literal">
      <span class="muted">list of {items.length}</span>
      <ol start={0}>
        {shown.map((item, index) => (
          <li key={index}>{render(item)}</li>
        ))}
      </ol>
      {!all && items.length > LIST_PREVIEW && (
        <button class="link" onClick={() => setAll(true)}>
          show {items.length - LIST_PREVIEW} more
        </button>
      )}
    </div>
  );
}

function ScalarView({ literal, owner }: { literal: Literal; owner: DataOwner }) {
  const scalar = literal.scalar!;
  const primitive = scalar.primitive;
  if (primitive) {
    if (primitive.stringValue !== undefined) return <code class="value string">{primitive.stringValue}</code>;
    if (primitive.integer !== undefined) return <code class="value">{primitive.integer}</code>;
    if (primitive.floatValue !== undefined) return <code class="value">{String(primitive.floatValue)}</code>;
    if (primitive.boolean !== undefined) return <code class="value">{primitive.boolean ? "True" : "False"}</code>;
    if (primitive.datetime !== undefined) return <code class="value">{primitive.datetime}</code>;
    if (primitive.duration !== undefined) return <code class="value">{primitive.duration}</code>;
    // proto3 JSON leaves out zero values: an integer 0, an empty string, False.
    return <code class="value">0</code>;
  }
  if (scalar.blob) {
    const directory = scalar.blob.metadata?.type?.dimensionality === "MULTIPART";
    return (
      <span class="file">
        {directory ? "directory" : "file"} <code>{basename(scalar.blob.uri)}</code>{" "}
        <Download uri={scalar.blob.uri} owner={owner} label={directory ? "list files" : "download"} directory={directory} />
      </span>
    );
  }
  if (scalar.structuredDataset) {
    const type = scalar.structuredDataset.metadata?.structuredDatasetType;
    const columns = (type?.columns ?? []).map((column) => column.name);
    return (
      <span class="file">
        dataframe ({type?.format || "parquet"}){columns.length > 0 && <> with columns <code>{columns.join(", ")}</code></>}{" "}
        <Download uri={scalar.structuredDataset.uri} owner={owner} label="list files" directory />{" "}
        {scalar.structuredDataset.uri && <DataFramePreview uri={scalar.structuredDataset.uri} format={type?.format || "parquet"} owner={owner} />}
      </span>
    );
  }
  if (scalar.binary) return <BinaryView value={scalar.binary.value ?? ""} tag={scalar.binary.tag ?? ""} />;
  if (scalar.union?.value) return <LiteralView literal={scalar.union.value} owner={owner} />;
  if (scalar.noneType) return <code class="value">None</code>;
  if (scalar.error) return <span class="error-text">{scalar.error.message}</span>;
  if (scalar.generic !== undefined) return <pre class="value">{JSON.stringify(scalar.generic, null, 2)}</pre>;
  if (scalar.schema) return <code>{scalar.schema.uri}</code>;
  return <span class="muted">empty</span>;
}

function BinaryView({ value, tag }: { value: string; tag: string }) {
  if (tag === "msgpack") {
    try {
      return <DecodedView value={decodeMsgpack(base64Bytes(value))} />;
    } catch (err) {
      return <span class="muted">msgpack that does not decode: {String(err)}</span>;
    }
  }
  return <span class="muted">{tag || "binary"} value, {base64Bytes(value).length} bytes</span>;
}

function DecodedView({ value }: { value: Decoded }) {
  if (Array.isArray(value)) return <ListView items={value} render={(item) => <DecodedView value={item} />} />;
  if (value !== null && typeof value === "object") {
    return (
      <table class="kv nested">
        <tbody>
          {Object.entries(value).map(([key, item]) => (
            <tr key={key}>
              <th>{key}</th>
              <td>
                <DecodedView value={item} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  return <code class={`value ${typeof value === "string" ? "string" : ""}`}>{value === null ? "None" : String(value)}</code>;
}

function basename(uri: string | undefined): string {
  if (!uri) return "";
  const trimmed = uri.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

function Download({ uri, owner, label, directory }: { uri?: string; owner: DataOwner; label: string; directory?: boolean }) {
  const [files, setFiles] = useState<DataFile[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  if (!uri) return null;
  const open = async () => {
    try {
      const found = await dataFiles(owner.scope, owner.run, uri);
      if (found.length === 1 && !directory) location.assign(found[0].url);
      else setFiles(found);
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <>
      {files === null ? (
        <button class="link download" onClick={open}>
          {label}
        </button>
      ) : (
        <ul class="files">
          {files.length === 0 && <li class="muted">no files</li>}
          {files.map((file) => (
            <li key={file.name}>
              <a href={file.url} download={basename(file.name)}>
                {file.name}
              </a>{" "}
              <span class="muted">{file.size} bytes</span>
            </li>
          ))}
        </ul>
      )}
      {problem && <span class="error-text"> {problem}</span>}
    </>
  );
}
