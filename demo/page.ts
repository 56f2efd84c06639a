/**
 * What the quiz page and the proctor page share: where they connect, how they find their
 * elements, the connection badge in the top bar, the message line, and how an error reads.
 */
import { AssessmentClientError, type ConnectionState, type StateChange } from '../client/index';

export interface PageSettings {
  /** The stage's WebSocket URL: `?ws=`, else this host with `?stage=` (default `local`). */
  readonly wsUrl: string;
  /** `?test=`, default `demo`. */
  readonly testId: string;
}

export function pageSettings(): PageSettings {
  const params = new URLSearchParams(location.search);
  const stage = params.get('stage') ?? 'local';
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return {
    wsUrl: params.get('ws') ?? `${scheme}//${location.host}/${stage}`,
    testId: params.get('test') ?? 'demo',
  };
}

export function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`missing #${id}`);
  return found as T;
}

/** The message line (`#message`). A message about the connection clears itself once it is open again. */
export class MessageLine {
  private readonly element = el('message');
  private aboutConnection = false;

  show(text: string, aboutConnection = false): void {
    this.element.textContent = text;
    this.element.hidden = text === '';
    this.aboutConnection = aboutConnection && text !== '';
  }

  error(error: unknown): void {
    this.show(describeError(error));
  }

  connectionOpen(): void {
    if (this.aboutConnection) this.show('');
  }
}

/**
 * The connection badge (`#connection-state` and its text), worded per page; it also clears a
 * connection message once the client is open again.
 */
export function connectionBadge(
  text: Record<ConnectionState, string>,
  message: MessageLine,
): (state: ConnectionState, change?: StateChange) => void {
  const badge = el('connection-state');
  const label = el('connection-state-text');
  return (state, change) => {
    badge.dataset.state = state;
    label.textContent =
      state === 'reconnecting' && change?.retryInMs !== undefined
        ? `${text.reconnecting} (attempt ${change.attempt ?? 1}, next try in ${Math.ceil(change.retryInMs / 1000)} s)`
        : text[state];
    if (state === 'open') message.connectionOpen();
  };
}

export function describeError(error: unknown): string {
  if (error instanceof AssessmentClientError) {
    if (error.code === 'timeout') return 'The server did not answer in time.';
    return `${error.message} (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}
