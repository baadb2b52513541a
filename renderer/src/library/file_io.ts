// Files in and out of the browser window: a download for export, and reading dropped or chosen
// files for import. A file is recognised by its content, not its name (a scenario is JSON with
// "schema": "septwb/scenario@1", a run is JSON Lines whose first line says "septwb/run", a
// comparison is JSON with "format": "septwb/comparison"), so a renamed file still imports.

import type { ApiError } from '../../../shared/api/contract.ts';
import type { ApiClient } from '../lib/api_client.ts';

export type SharedFileKind = 'scenario' | 'run' | 'comparison' | 'unknown';

/** Offers `text` as a download named `fileName` (browser mode and Electron alike). */
export function downloadText(fileName: string, text: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Downloads run `id` as its share file (the Library's and the Run view's Export); the error, if any. */
export async function downloadRun(client: ApiClient, id: number): Promise<ApiError | null> {
  const r = await client.api.exportRun({ id });
  if (!r.ok) return r.error;
  downloadText(r.value.fileName, r.value.text, 'application/x-ndjson');
  return null;
}

/** What a file holds, from its first characters. */
export function classifyText(text: string): SharedFileKind {
  const head = text.slice(0, 4096);
  if (/^\s*\{[^\n]*"format"\s*:\s*"septwb\/run"/.test(head)) return 'run';
  if (/"format"\s*:\s*"septwb\/comparison"/.test(head)) return 'comparison';
  if (/"schema"\s*:\s*"septwb\/scenario@/.test(head)) return 'scenario';
  return 'unknown';
}

/** A file name without its extensions, for a scenario imported without a name. */
export function baseName(fileName: string): string {
  return fileName.replace(/\.(septwb-?\w*\.)?(json|jsonl|txt)$/i, '').replace(/\.json$/i, '') || 'imported scenario';
}

/** Reads the files of a drop or a file input, in order, as text. */
export async function readFiles(files: FileList | File[] | null | undefined): Promise<{ name: string; text: string }[]> {
  const out: { name: string; text: string }[] = [];
  for (const file of Array.from(files ?? [])) out.push({ name: file.name, text: await file.text() });
  return out;
}
