/**
 * Proctor page: a live roster of one test (who is online, who has been offline and for how long,
 * progress, time left, reconnects), from `proctor_subscribe` on a general connection of the client
 * SDK (which reconnects, re-authenticates and keeps the connection alive).
 *
 * Query parameters: `ws` (WebSocket URL; default ws(s)://<this host>/<stage>), `stage` (default
 * `local`), `test` (default `demo`). The token can be given in the fragment (`#token=<jwt>`), which
 * browsers never send to a server, or pasted into the form.
 */
import { AssessmentClient } from '../client/index';
import type { ProctorEventData, ProctorSnapshotData, ProctorStudent } from '../protocol';
import { connectionBadge, el, MessageLine, pageSettings } from './page';

const fragment = new URLSearchParams(location.hash.slice(1));
const settings = pageSettings();
/** A fresh snapshot now and then corrects anything a lost event left behind. */
const RESNAPSHOT_MS = 60_000;
const MAX_EVENTS_SHOWN = 50;

const ui = {
  form: el<HTMLFormElement>('subscribe-form'),
  token: el<HTMLInputElement>('token'),
  testId: el<HTMLInputElement>('test-id'),
  roster: el('roster-view'),
  title: el('roster-title'),
  summary: el('roster-summary'),
  body: el('roster-body'),
  events: el('events'),
};

const message = new MessageLine();
const renderState = connectionBadge(
  {
    closed: 'Not connected',
    connecting: 'Connecting…',
    authenticating: 'Signing in…',
    open: 'Watching',
    reconnecting: 'Reconnecting…',
    // A proctor's general connection has its own key: another tab of the same proctor replaces it.
    replaced: 'Opened elsewhere',
  },
  message,
);
const showMessage = (text: string) => message.show(text);

interface Watch {
  client: AssessmentClient;
  testId: string;
}

let watch: Watch | undefined;
/** Server time minus local time, from the last snapshot: offline durations use the server's clock. */
let clockOffsetMs = 0;
let durationSeconds = 0;
const students = new Map<string, ProctorStudent>();

// ------------------------------------------------------------------ rendering

const serverNow = () => Date.now() + clockOffsetMs;

function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** Seconds since the student's current connection state began (online or offline). */
function secondsSince(student: ProctorStudent): number | undefined {
  return student.since === undefined ? undefined : (serverNow() - Date.parse(student.since)) / 1000;
}

/** Total offline time, counting the gap that is still open while the assessment runs. */
function offlineSeconds(student: ProctorStudent): number {
  const open = !student.connected && student.status === 'in_progress' ? (secondsSince(student) ?? 0) : 0;
  return student.offline_seconds + open;
}

function presenceText(student: ProctorStudent): string {
  const since = secondsSince(student);
  if (student.connected) return since === undefined ? 'Online' : `Online ${clock(since)}`;
  if (since === undefined) return 'Never connected';
  const why = student.end_reason === undefined ? '' : ` (${student.end_reason.replace('_', ' ')})`;
  return `Offline ${clock(since)}${why}`;
}

function statusText(student: ProctorStudent): string {
  switch (student.status) {
    case 'not_started':
      return 'Not started';
    case 'in_progress':
      return 'In progress';
    case 'completed':
      return `${student.completion_reason === 'time_up' ? 'Time up' : 'Submitted'}${
        student.score === undefined ? '' : ` · ${student.score} / ${student.total}`
      }`;
  }
}

function timeLeft(student: ProctorStudent): string {
  if (student.status !== 'in_progress' || student.deadline === undefined) return '—';
  return clock((Date.parse(student.deadline) - serverNow()) / 1000);
}

function cell(text: string, testId: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  td.dataset.testid = testId;
  return td;
}

function renderRow(student: ProctorStudent): HTMLTableRowElement {
  const row = document.createElement('tr');
  row.dataset.testid = 'student-row';
  row.dataset.userId = student.user_id;
  row.dataset.online = String(student.connected);
  row.dataset.status = student.status;
  row.dataset.answered = String(student.answered);
  row.dataset.reconnects = String(student.reconnects);
  const offlineFor = !student.connected ? secondsSince(student) : undefined;
  row.dataset.offlineSeconds = offlineFor === undefined ? '' : String(Math.floor(offlineFor));

  const name = document.createElement('th');
  name.scope = 'row';
  name.textContent = student.user_id;
  const presence = document.createElement('td');
  presence.dataset.testid = 'presence';
  const badge = document.createElement('span');
  badge.className = 'presence';
  badge.textContent = presenceText(student);
  presence.append(badge);
  row.append(
    name,
    presence,
    cell(`${student.answered} / ${student.total}`, 'progress'),
    cell(timeLeft(student), 'time-left'),
    cell(String(student.reconnects), 'reconnects'),
    cell(clock(offlineSeconds(student)), 'offline-total'),
    cell(statusText(student), 'status'),
  );
  return row;
}

function renderRoster(): void {
  const all = [...students.values()].sort((a, b) => a.user_id.localeCompare(b.user_id));
  ui.body.replaceChildren(...all.map(renderRow));
  const online = all.filter((s) => s.connected).length;
  const away = all.filter((s) => !s.connected && s.status === 'in_progress').length;
  ui.summary.textContent = `${all.length} students · ${online} online · ${away} offline during the test`;
  ui.summary.dataset.online = String(online);
  ui.summary.dataset.away = String(away);
}

function logEvent(event: ProctorEventData): void {
  const item = document.createElement('li');
  item.dataset.testid = 'event';
  item.dataset.event = event.event;
  item.dataset.userId = event.student.user_id;
  const time = new Date(event.at).toLocaleTimeString();
  const why = event.student.end_reason === undefined ? '' : ` (${event.student.end_reason})`;
  item.textContent = `${time} ${event.student.user_id} ${event.event}${event.event === 'dropped' ? why : ''}`;
  ui.events.prepend(item);
  while (ui.events.childElementCount > MAX_EVENTS_SHOWN) ui.events.lastElementChild?.remove();
}

// ------------------------------------------------------------------ connection

/** Asks for the roster; the snapshot replaces what the page shows. */
function subscribe(): void {
  const current = watch;
  current?.client.proctorSubscribe(current.testId).then(
    (snapshot) => {
      if (watch === current) applySnapshot(snapshot);
    },
    (error: unknown) => {
      if (watch === current) message.error(error);
    },
  );
}

function applySnapshot(snapshot: ProctorSnapshotData): void {
  clockOffsetMs = Date.parse(snapshot.server_time) - Date.now();
  durationSeconds = snapshot.duration_seconds;
  students.clear();
  for (const student of snapshot.students) students.set(student.user_id, student);
  ui.title.textContent = `${snapshot.title} (${snapshot.test_id}) · ${snapshot.total_questions} questions · ${Math.round(durationSeconds / 60)} min`;
  ui.roster.hidden = false;
  showMessage('');
  renderRoster();
}

function applyEvent(event: ProctorEventData): void {
  if (event.test_id !== watch?.testId) return;
  const known = students.get(event.student.user_id);
  students.set(event.student.user_id, { ...known, ...event.student } as ProctorStudent);
  logEvent(event);
  renderRoster();
}

function start(token: string, testId: string): void {
  stop();
  // A general connection (no test id); nothing to keep across reloads, so no storage.
  const client = new AssessmentClient({ url: settings.wsUrl, getToken: async () => token, storage: null });
  watch = { client, testId };
  client.on('state', renderState);
  // Every (re)authentication starts a new connection, which holds no subscription yet.
  client.on('auth_success', subscribe);
  client.on('proctor_event', applyEvent);
  client.on('auth_error', (error) => {
    if (!error.willRetry) showMessage(`Sign-in failed: ${error.message} (${error.code})`);
  });
  client.connect().catch(() => {});
}

function stop(): void {
  watch?.client.close();
  watch = undefined;
  renderState('closed');
}

// ------------------------------------------------------------------ wiring

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = ui.token.value.trim();
  const testId = ui.testId.value.trim();
  if (token === '' || !/^[A-Za-z0-9-]{1,64}$/.test(testId)) {
    showMessage('Enter a proctor token and a test id.');
    return;
  }
  students.clear();
  ui.events.replaceChildren();
  start(token, testId);
});

setInterval(() => {
  if (watch?.client.state === 'open') subscribe();
}, RESNAPSHOT_MS);
// Durations tick between events.
setInterval(() => {
  if (students.size > 0) renderRoster();
}, 1000);

renderState('closed');
ui.testId.value = settings.testId;
const initialToken = fragment.get('token');
if (initialToken) {
  ui.token.value = initialToken;
  ui.form.requestSubmit();
}
