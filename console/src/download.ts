// Download links for the files behind a value (a `File`, a `Dir`, a dataframe): the server
// checks that the run may read them and answers with short-lived signed URLs.

import { credential, RpcError } from "./api";
import type { Scope } from "./route";

export interface DataFile {
  name: string;
  url: string;
  size: number;
}

export async function dataFiles(scope: Scope, run: string, uri: string): Promise<DataFile[]> {
  const query = new URLSearchParams({ project: scope.project, domain: scope.domain, run, uri });
  const kept = credential();
  const response = await fetch(`/console/api/files?${query}`, {
    headers: kept ? { Authorization: kept } : {},
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new RpcError(body.code ?? "unknown", body.message ?? `HTTP ${response.status}`);
  return body.files as DataFile[];
}
