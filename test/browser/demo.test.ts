/**
 * The demo quiz page in a real browser (Debian's Chromium through playwright-core) against the
 * local stack: sign in, start the demo test, lose the connection mid-quiz, recover by itself to the
 * same question and progress, survive a page reload, finish, and see the score.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { AssessmentClient } from '../../client/index';
import { type LocalStackProcess, startLocalStackProcess } from '../support/local-stack';

/** What demo/app.ts exposes on window, plus the state log this test adds. */
type DemoWindow = Window & {
  assessmentDemo?: { readonly client: AssessmentClient | undefined; dropConnection(): void };
  demoStates: string[];
};

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ROOT = path.resolve(__dirname, '..', '..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

interface DemoQuestion {
  question_id: string;
  options: string[];
  correct_option: string;
}
const demo = JSON.parse(readFileSync(path.join(ROOT, 'test-definitions', 'demo.json'), 'utf8')) as {
  title: string;
  duration_seconds: number;
  questions: DemoQuestion[];
};

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !process.env.CI) {
  console.warn(
    `SKIPPED test/browser/demo.test.ts: ${CHROMIUM} not found (apt-get install -y chromium). In CI this test fails instead.`,
  );
}
const describeBrowser = haveChromium || process.env.CI ? describe : describe.skip;

describeBrowser('demo quiz page (browser)', () => {
  jest.setTimeout(120_000);

  let stack: LocalStackProcess | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`${CHROMIUM} is required in CI (apt-get install -y chromium)`);
    [stack, browser] = await Promise.all([
      startLocalStackProcess(),
      chromium.launch({ executablePath: CHROMIUM, args: ARGS }),
    ]);
    context = await browser.newContext({ viewport: { width: 900, height: 820 } });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const text = async (testId: string) => (await page.getByTestId(testId).textContent())?.trim() ?? '';
  const data = async (testId: string, name: string) => page.getByTestId(testId).getAttribute(`data-${name}`);
  const waitForState = (state: string) =>
    page.waitForSelector(`[data-testid="connection-state"][data-state="${state}"]`);
  const waitForQuestion = (id: string) =>
    page.waitForSelector(`[data-testid="question"][data-question-id="${id}"]`);
  const remaining = async () => Number(await data('timer', 'remaining'));
  const answer = async (q: DemoQuestion, correct: boolean) => {
    const option = correct ? q.correct_option : (q.options.find((o) => o !== q.correct_option) ?? '');
    await page.getByTestId('option-button').filter({ hasText: option }).click();
  };
  const question = (n: number): DemoQuestion => {
    const q = demo.questions[n];
    if (q === undefined) throw new Error(`demo test has no question ${n}`);
    return q;
  };

  it('takes the demo test, recovers from a dropped connection and a reload, and shows the score', async () => {
    if (stack === undefined) throw new Error('no stack');
    const userId = `browser-${Date.now().toString(36)}`;

    // Sign in: the page fetches a token from /dev/token and connects to ws://<same host>/local.
    await page.goto(`${stack.httpUrl}/demo/`);
    await page.getByLabel('User id').fill(userId);
    await page.getByRole('button', { name: 'Connect' }).click();
    await waitForState('open');
    expect(await text('connection-state')).toBe('Connected');
    await page.waitForSelector('[data-testid="start-button"]:not([disabled])');
    expect(await text('test-title')).toBe(demo.title);

    // Start: first question, no progress, a full countdown.
    await page.getByTestId('start-button').click();
    const first = question(0);
    await waitForQuestion(first.question_id);
    expect(await data('progress', 'answered')).toBe('0');
    expect(await data('progress', 'total')).toBe(String(demo.questions.length));
    expect(await remaining()).toBeGreaterThan(demo.duration_seconds - 30);
    expect(await remaining()).toBeLessThanOrEqual(demo.duration_seconds);

    await answer(first, true);
    const second = question(1);
    await waitForQuestion(second.question_id);
    await page.waitForSelector('[data-testid="progress"][data-answered="1"]');
    const before = await remaining();

    // Cut the connection: the page's debug hook closes the client's socket (the server gets the
    // close and runs $disconnect), then the browser goes offline so reconnect attempts fail.
    await page.evaluate(() => {
      const w = window as unknown as DemoWindow;
      w.demoStates = [];
      w.assessmentDemo?.client?.on('state', (s) => w.demoStates.push(s));
      w.assessmentDemo?.dropConnection();
    });
    await waitForState('reconnecting');
    await context.setOffline(true);
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="message"]')?.textContent?.includes('offline'),
    );
    await page.screenshot({ path: path.join(ensureArtifacts(), 'demo-reconnecting.png') });

    // Back online: the `online` event makes the client reconnect at once and re-authenticate; the
    // server's recovery snapshot brings the page back to the same question and progress.
    await context.setOffline(false);
    await waitForState('open');
    await waitForQuestion(second.question_id);
    expect(await data('progress', 'answered')).toBe('1');
    await page.waitForFunction((b) => {
      const value = document.querySelector('[data-testid="timer"]')?.getAttribute('data-remaining');
      return value !== null && value !== undefined && value !== '' && Number(value) < b;
    }, before);
    expect(await remaining()).toBeGreaterThan(before - 60);
    expect(await page.getByTestId('message').isHidden()).toBe(true);
    const states = await page.evaluate(() => (window as unknown as DemoWindow).demoStates);
    expect(states[0]).toBe('reconnecting');
    expect(states.at(-1)).toBe('open');

    // A reload signs in again (user kept in sessionStorage) and recovers the same point.
    await page.reload();
    await waitForState('open');
    await waitForQuestion(second.question_id);
    expect(await data('progress', 'answered')).toBe('1');
    expect(await text('user-label')).toBe(userId);

    // Answer the rest (all right but the third), then submit.
    for (let n = 1; n < demo.questions.length; n++) {
      const q = question(n);
      await waitForQuestion(q.question_id);
      await answer(q, n !== 2);
      await page.waitForSelector(`[data-testid="progress"][data-answered="${n + 1}"]`);
    }
    await page.getByTestId('finish-button').click();
    await page.waitForSelector('[data-testid="result-view"]:not([hidden])');
    const expectedScore = demo.questions.length - 1;
    expect(await data('score', 'score')).toBe(String(expectedScore));
    expect(await text('score')).toBe(`${expectedScore} / ${demo.questions.length}`);
    expect(await text('result-detail')).toContain('You submitted the test.');
    expect(pageErrors).toEqual([]);

    await page.screenshot({ path: path.join(ensureArtifacts(), 'demo-finished.png'), fullPage: true });
  });

  it('tells the student when the test was opened in another tab, and lets them take it back', async () => {
    if (stack === undefined) throw new Error('no stack');
    const userId = `tabs-${Date.now().toString(36)}`;
    await page.goto(`${stack.httpUrl}/demo/?user=${userId}`);
    await waitForState('open');

    const other = await context.newPage();
    try {
      await other.goto(`${stack.httpUrl}/demo/?user=${userId}`);
      await other.waitForSelector('[data-testid="connection-state"][data-state="open"]');

      await waitForState('replaced');
      await page.waitForSelector('[data-testid="replaced-view"]:not([hidden])');
      expect(await text('connection-state')).toBe('Opened elsewhere');
      await page.screenshot({ path: path.join(ensureArtifacts(), 'demo-replaced.png') });

      // The first tab takes the session back; now the other one is told.
      await page.getByTestId('take-over-button').click();
      await waitForState('open');
      await other.waitForSelector('[data-testid="connection-state"][data-state="replaced"]');
    } finally {
      await other.close();
    }
  });
});

function ensureArtifacts(): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}
