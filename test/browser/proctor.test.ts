/**
 * The proctor page in a real browser (Debian's Chromium through playwright-core) against the local
 * stack: three students (WebSocket clients) take the demo test; two drop and come back; the roster
 * shows who is offline and for how long, then their reconnects. Students never receive proctor
 * frames, and a student's token cannot subscribe.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { SignJWT } from 'jose';
import { type Browser, chromium, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { main as report } from '../../scripts/report';
import { type LocalStackProcess, startLocalStackProcess } from '../support/local-stack';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
];
const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts');
const DEV_SECRET = 'local-dev-secret';

interface Frame {
  type: string;
  data?: Record<string, unknown>;
  error?: { code: string; message: string };
}

/** A student's socket: every frame it ever received, and a way to wait for one. */
class Student {
  readonly frames: Frame[] = [];
  private socket!: WebSocket;

  constructor(
    readonly userId: string,
    private readonly stack: LocalStackProcess,
  ) {}

  async open(): Promise<Frame> {
    const token = await this.stack.token(this.userId);
    this.socket = new WebSocket(`${this.stack.wsUrl}?test_id=demo`);
    this.socket.on('message', (raw) => this.frames.push(JSON.parse(String(raw)) as Frame));
    await new Promise<void>((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    const from = this.frames.length;
    this.socket.send(JSON.stringify({ action: 'auth', token }));
    return this.next('auth_success', from);
  }

  async send(type: string, fields: object = {}): Promise<Frame> {
    const from = this.frames.length;
    this.socket.send(JSON.stringify({ action: 'message', type, ...fields }));
    return this.next(undefined, from);
  }

  /** Closes the socket without a close frame, like a lost network (API Gateway reports 1006). */
  drop(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.terminate();
    });
  }

  close(): void {
    this.socket?.close();
  }

  async next(type: string | undefined, from: number, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find((f) => type === undefined || f.type === type);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `${this.userId}: no ${type ?? 'frame'} within ${timeoutMs} ms: ${JSON.stringify(this.frames)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !process.env.CI) {
  console.warn(`SKIPPED test/browser/proctor.test.ts: ${CHROMIUM} not found (apt-get install -y chromium).`);
}
const describeBrowser = haveChromium || process.env.CI ? describe : describe.skip;

describeBrowser('proctor page (browser)', () => {
  jest.setTimeout(120_000);
  let stack: LocalStackProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const students: Student[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`${CHROMIUM} is required in CI`);
    [stack, browser] = await Promise.all([
      startLocalStackProcess(),
      chromium.launch({ executablePath: CHROMIUM, args: ARGS }),
    ]);
    page = await (await browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    for (const s of students) s.close();
    await browser?.close();
    await stack?.stop();
  });

  const proctorToken = (tests: string[]) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ role: 'proctor', proctor_tests: tests })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(`proctor-${now}`)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(new TextEncoder().encode(DEV_SECRET));
  };
  const row = (userId: string) => `[data-testid="student-row"][data-user-id="${userId}"]`;
  const rowAttr = (userId: string, name: string) => page.locator(row(userId)).getAttribute(`data-${name}`);

  it('shows three students live: two drop, the roster counts their time offline, they recover', async () => {
    if (!stack) throw new Error('no stack');
    const run = Date.now().toString(36);
    for (const name of ['ana', 'ben', 'cy']) students.push(new Student(`${name}-${run}`, stack));
    const [ana, ben, cy] = students as [Student, Student, Student];

    // Ana starts before the proctor watches: the snapshot must show her.
    await ana.open();
    await ana.send('start_assessment');

    await page.goto(`${stack.httpUrl}/demo/proctor.html#token=${await proctorToken(['demo'])}`);
    await page.waitForSelector('[data-testid="roster-view"]:not([hidden])');
    await page.waitForSelector(`${row(ana.userId)}[data-online="true"][data-status="in_progress"]`);

    // Ben and Cy arrive while the page watches: live events add them.
    for (const s of [ben, cy]) {
      await s.open();
      await s.send('start_assessment');
    }
    const question = (await cy.next('question', 0)).data as { question_id: string; options: string[] };
    await cy.send('submit_answer', {
      request_id: 'cy-1',
      data: { question_id: question.question_id, selected_option: question.options[0] },
    });
    await page.waitForSelector(`${row(ben.userId)}[data-online="true"][data-status="in_progress"]`);
    await page.waitForSelector(`${row(cy.userId)}[data-answered="1"]`);

    // Two drop. The page shows them offline, and the time keeps counting.
    await Promise.all([ana.drop(), ben.drop()]);
    for (const s of [ana, ben]) await page.waitForSelector(`${row(s.userId)}[data-online="false"]`);
    expect(await rowAttr(cy.userId, 'online')).toBe('true');
    expect(await page.getByTestId('roster-summary').getAttribute('data-away')).toBe('2');
    await page.waitForFunction(
      (selector) => Number(document.querySelector(selector)?.getAttribute('data-offline-seconds')) >= 2,
      row(ana.userId),
    );
    expect(await page.locator(row(ana.userId)).getByTestId('presence').textContent()).toMatch(
      /^Offline 0:0[2-9]/,
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'proctor-offline.png'), fullPage: true });

    // They come back: online again, one reconnect each, the gap counted.
    for (const s of [ana, ben]) {
      const success = await s.open();
      expect(success.data?.recovered).toBe(true);
    }
    for (const s of [ana, ben]) {
      await page.waitForSelector(`${row(s.userId)}[data-online="true"][data-reconnects="1"]`);
      const offline = await page.locator(row(s.userId)).getByTestId('offline-total').textContent();
      expect(offline).toMatch(/^0:0[2-9]$/);
    }
    expect(await rowAttr(cy.userId, 'reconnects')).toBe('0');
    const events = await page
      .getByTestId('event')
      .evaluateAll((items) =>
        items.map((i) => `${i.getAttribute('data-user-id')} ${i.getAttribute('data-event')}`),
      );
    expect(events).toEqual(
      expect.arrayContaining([`${ana.userId} dropped`, `${ben.userId} dropped`, `${ana.userId} recovered`]),
    );

    // A reload takes a fresh snapshot: the stored history says the same.
    await page.reload();
    await page.waitForSelector(`${row(ben.userId)}[data-online="true"][data-reconnects="1"]`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'proctor-recovered.png'), fullPage: true });
    expect(pageErrors).toEqual([]);

    // The staff report reads the same history from the stack's DynamoDB endpoint.
    const lines: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((line: unknown) => lines.push(String(line)));
    const t = stack.tableNames;
    const code = await report([
      '--test',
      'demo',
      '--json',
      '--endpoint',
      stack.dynamodbEndpoint,
      '--tables',
      `${t.connections},${t.assessments},${t.tests}`,
    ]).finally(() => log.mockRestore());
    expect(code).toBe(0);
    const rows = (JSON.parse(lines.join('\n')) as { rows: { user_id: string; reconnects: number }[] }).rows;
    for (const s of students) {
      expect(rows.find((r) => r.user_id === s.userId)?.reconnects).toBe(s === cy ? 0 : 1);
    }

    // Isolation: no student ever received a proctor frame, and a student cannot subscribe.
    for (const s of students) expect(s.frames.filter((f) => f.type.startsWith('proctor_'))).toEqual([]);
    const refused = await cy.send('proctor_subscribe', { data: { test_id: 'demo' } });
    expect(refused.type).toBe('error');
    expect(refused.error?.code).toBe('forbidden');
  });

  it('refuses a proctor token for another test', async () => {
    if (!stack) throw new Error('no stack');
    // A fragment-only change would not load the page again.
    await page.goto('about:blank');
    await page.goto(`${stack.httpUrl}/demo/proctor.html#token=${await proctorToken(['other-test'])}`);
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="message"]')?.textContent?.includes('forbidden'),
    );
    expect(await page.getByTestId('roster-view').isHidden()).toBe(true);
  });
});
