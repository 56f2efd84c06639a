/**
 * docs/protocol.md, the frontend guide and the protocol module list the same frames and codes,
 * so none of them can drift from the others.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  AUTH_ERROR_CODES,
  CLOSE_CODES,
  ERROR_CODES,
  MAX_USER_ID_BYTES,
  MESSAGE_TYPES,
  NOTICE_CODES,
  PROTOCOL_VERSION,
  RATE_LIMIT,
  REQUEST_ID_MAX_LENGTH,
  SERVER_FRAME_TYPES,
  TOKEN_CLOCK_LEEWAY_SECONDS,
} from '../../protocol';

const root = path.resolve(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const protocolDoc = read('docs/protocol.md');
const guide = read('FRONTEND_WEBSOCKET_GUIDE.md');

/** The text under the heading that starts with `heading`, up to the next heading of that level or higher. */
function section(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^#+ /.test(line) && line.replace(/^#+ /, '').startsWith(heading));
  if (start < 0) throw new Error(`no heading starting with ${JSON.stringify(heading)}`);
  const level = (lines[start]?.match(/^#+/)?.[0] ?? '#').length;
  const end = lines.findIndex(
    (line, i) => i > start && /^#+ /.test(line) && (line.match(/^#+/)?.[0] ?? '').length <= level,
  );
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The `identifiers` in the first column of the tables of a text, optionally only those whose header matches. */
function firstColumn(text: string, header?: RegExp): string[] {
  const names: string[] = [];
  let inTable = false;
  let counted = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    if (!inTable) {
      inTable = true;
      counted = header === undefined || header.test(line);
      continue;
    }
    if (!counted || /^\|\s*-/.test(line)) continue;
    const cell = line.split('|')[1] ?? '';
    const name = cell.match(/^\s*`([a-z_]+)`\s*$/)?.[1];
    if (name !== undefined) names.push(name);
  }
  return names;
}

const sorted = (list: readonly string[]) => [...list].sort();

describe('docs/protocol.md agrees with the protocol module', () => {
  it('lists every message type', () => {
    expect(sorted(firstColumn(section(protocolDoc, '2. Frames a client sends'), /\| type /))).toEqual(
      sorted(MESSAGE_TYPES),
    );
  });

  it('lists every server frame type', () => {
    expect(sorted(firstColumn(section(protocolDoc, '3. Frames the server sends')))).toEqual(
      sorted(SERVER_FRAME_TYPES),
    );
  });

  it('lists every error code and every auth error code, in the module order', () => {
    const errors = section(protocolDoc, '8. Error codes');
    expect(firstColumn(errors, /\| code /)).toEqual([...ERROR_CODES]);
    expect(firstColumn(errors, /\| auth error code /)).toEqual([...AUTH_ERROR_CODES]);
    expect(firstColumn(errors, /\| notice code /)).toEqual([...NOTICE_CODES]);
  });

  it('states the close codes, the limits and the version the module defines', () => {
    const closes = section(protocolDoc, '9. Close codes');
    for (const code of Object.values(CLOSE_CODES)) expect(closes).toContain(`| ${code}`);
    const limits = section(protocolDoc, '10. Limits');
    expect(limits).toContain(`at most ${MAX_USER_ID_BYTES} bytes in UTF-8`);
    expect(limits).toContain(`1-${REQUEST_ID_MAX_LENGTH} characters`);
    expect(limits).toContain(
      `${RATE_LIMIT.framesPerWindow} frames (\`auth\`, \`message\` and unrouted alike) per connection per ${RATE_LIMIT.windowMs / 1000}-second window`,
    );
    expect(limits).toContain(
      `bursts of ${RATE_LIMIT.minBurst} and ${RATE_LIMIT.minSustainedPerSecond} frame/s`,
    );
    expect(limits).toContain(`${TOKEN_CLOCK_LEEWAY_SECONDS} s`);
    expect(protocolDoc).toContain(`**Version ${PROTOCOL_VERSION}.**`);
  });
});

describe('the frontend guide agrees with the protocol module', () => {
  it('lists every message type', () => {
    expect(sorted(firstColumn(section(guide, '4. Frames you send'), /\| type /))).toEqual(
      sorted(MESSAGE_TYPES),
    );
  });

  it('lists every server frame type', () => {
    expect(sorted(firstColumn(section(guide, '5. Frames you receive'), /\| type .*\| when /))).toEqual(
      sorted(SERVER_FRAME_TYPES),
    );
  });

  it('explains every error code and every auth error code', () => {
    expect(sorted(firstColumn(section(guide, '8. Errors and what to do'), /\| code /))).toEqual(
      sorted(ERROR_CODES),
    );
    expect(sorted(firstColumn(section(guide, '2. Authenticating'), /\| `auth_error` code /))).toEqual(
      sorted(AUTH_ERROR_CODES),
    );
  });

  it('links to docs/protocol.md and names no contract outside the repository', () => {
    expect(guide).toContain('](docs/protocol.md)');
    for (const doc of [guide, protocolDoc, read('README.md'), read('docs/client-sdk.md')]) {
      expect(doc).not.toMatch(/protocol-v1|\/work\/|shared\/protocol/);
    }
  });
});
