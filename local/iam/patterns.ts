/**
 * The wildcard patterns IAM policies use: actions (case-insensitive, `*` and `?` anywhere), ARNs
 * (case-sensitive; a wildcard in one of the first five colon-separated fields never spans a colon,
 * one in the resource part may), and plain strings for `StringLike`.
 */

const ESCAPE = /[.+^${}()|[\]\\*?]/g;

/** A piece of a pattern: wildcards are live in `text`, except where a piece is `literal`. */
export interface PatternPiece {
  readonly text: string;
  /** True for text that came from a request value or `${*}`/`${?}`: its `*` and `?` are plain characters. */
  readonly literal?: boolean;
}

const escapeRegExp = (text: string) => text.replace(ESCAPE, '\\$&');

/** `dynamodb:Get*` -> /^dynamodb:Get.*$/i */
export function actionPattern(pattern: string): RegExp {
  return globPattern([{ text: pattern }], 'i');
}

/** `StringLike`: `*` matches any run of characters (none included), `?` exactly one. */
export function globPattern(pieces: readonly PatternPiece[], flags = ''): RegExp {
  let body = '';
  for (const piece of pieces) {
    if (piece.literal) {
      body += escapeRegExp(piece.text);
      continue;
    }
    for (const char of piece.text) {
      body += char === '*' ? '.*' : char === '?' ? '.' : escapeRegExp(char);
    }
  }
  return new RegExp(`^${body}$`, `s${flags}`);
}

/** An ARN pattern whose wildcards stay inside their field for the first five fields. */
export function resourcePattern(pattern: string): RegExp {
  return arnPattern([{ text: pattern }]);
}

export function arnPattern(pieces: readonly PatternPiece[]): RegExp {
  if (pieces.length === 1 && pieces[0]?.text === '*' && !pieces[0].literal) return /^/;
  let body = '';
  let colons = 0;
  for (const piece of pieces) {
    for (const char of piece.text) {
      const inResourcePart = colons >= 5;
      if (char === ':') {
        colons++;
        body += ':';
      } else if (char === '*' && !piece.literal) {
        body += inResourcePart ? '.*' : '[^:]*';
      } else if (char === '?' && !piece.literal) {
        body += inResourcePart ? '.' : '[^:]';
      } else {
        body += escapeRegExp(char);
      }
    }
  }
  // An ARN pattern with fewer than six fields names no resource (IAM's validator refuses it).
  if (colons < 5) return /(?!)/;
  return new RegExp(`^${body}$`, 's');
}
