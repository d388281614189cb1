// Download links for the files behind a value (a `File`, a `Dir`, a dataframe): the server
// checks that the run may read them and answers with short-lived signed URLs.

import { consoleRead } from "./api";
import type { Scope } from "./route";

export interface DataFile {
  name: string;
  url: string;
  size: number;
}

export async function dataFiles(scope: Scope, run: string, uri: string): Promise<DataFile[]> {
  const reply = await consoleRead<{ files: DataFile[] }>("files", { project: scope.project, domain: scope.domain, run, uri });
  return reply.files;
}
