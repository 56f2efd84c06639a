/** Writing fixture trees (cloud assemblies, asset folders) for tests of the assembly reader. */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** A writer of files under `root`: folders are made as needed; a value that is not a string is written as JSON. */
export function fileWriter(root: string): (file: string, value: unknown) => void {
  return (file, value) => {
    const target = path.join(root, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, typeof value === 'string' ? value : JSON.stringify(value));
  };
}
