/**
 * Demo quiz page for the assessment WebSocket protocol, built on the client SDK.
 *
 * Query parameters: `ws` (WebSocket URL; default ws(s)://<this host>/<stage>), `stage` (default
 * `local`), `test` (default `demo`), `user` (sign in at once as this user).
 */
import { AssessmentClient, AssessmentClientError } from '../client/index';
import type { AssessmentSnapshot, CompletedSummary, Progress, QuestionView } from '../protocol';
import { connectionBadge, describeError, el, MessageLine, pageSettings } from './page';

declare global {
  interface Window {
    /** Debug and test hook: the page's client, and a way to drop its connection. */
    assessmentDemo?: {
      readonly client: AssessmentClient | undefined;
      dropConnection(): void;
    };
  }
}

const params = new URLSearchParams(location.search);
const { wsUrl, testId } = pageSettings();
const USER_KEY = 'assessment-demo:user';

const ui = {
  views: {
    login: el('login-view'),
    intro: el('intro-view'),
    quiz: el('quiz-view'),
    result: el('result-view'),
    replaced: el('replaced-view'),
  },
  loginForm: el<HTMLFormElement>('login-form'),
  userInput: el<HTMLInputElement>('user-id'),
  connectButton: el<HTMLButtonElement>('connect-button'),
  testTitle: el('test-title'),
  testMeta: el('test-meta'),
  startButton: el<HTMLButtonElement>('start-button'),
  quizTitle: el('test-title-small'),
  progress: el('progress'),
  progressText: el('progress-text'),
  progressBar: el('progress-bar'),
  progressFill: el('progress-bar-fill'),
  timer: el('timer'),
  timerText: el('timer-text'),
  questionBlock: el('question-block'),
  questionNumber: el('question-number'),
  questionText: el('question-text'),
  options: el('options'),
  answerStatus: el('answer-status'),
  finishBlock: el('finish-block'),
  finishTitle: el('finish-title'),
  finishButton: el<HTMLButtonElement>('finish-button'),
  resultTitle: el('result-title'),
  score: el('score'),
  resultDetail: el('result-detail'),
  replacedTitle: el('replaced-title'),
  takeOverButton: el<HTMLButtonElement>('take-over-button'),
  userLabel: el('user-label'),
  outboxCount: el('outbox-count'),
  switchUser: el<HTMLButtonElement>('switch-user'),
};

type View = keyof typeof ui.views;

const message = new MessageLine();
const renderState = connectionBadge(
  {
    connecting: 'Connecting…',
    authenticating: 'Signing in…',
    open: 'Connected',
    reconnecting: 'Reconnecting…',
    closed: 'Disconnected',
    replaced: 'Opened elsewhere',
  },
  message,
);
const showMessage = (text: string, aboutConnection = false) => message.show(text, aboutConnection);
const showError = (error: unknown) => message.show(describe(error));

let client: AssessmentClient | undefined;
let title = '';
let question: QuestionView | undefined;
/** performance.now() at which the server's deadline passes (recomputed from every remaining_seconds). */
let deadline: number | undefined;
let completed = false;
let completing = false;

// ------------------------------------------------------------------ rendering

function showView(view: View): void {
  for (const [name, section] of Object.entries(ui.views)) section.hidden = name !== view;
}

function setDeadline(remainingSeconds: number): void {
  deadline = performance.now() + remainingSeconds * 1000;
  renderTimer();
}

function renderTimer(): void {
  if (deadline === undefined) {
    ui.timerText.textContent = '--:--';
    ui.timer.dataset.remaining = '';
    return;
  }
  const remaining = Math.max(0, Math.floor((deadline - performance.now()) / 1000));
  const minutes = Math.floor(remaining / 60);
  const seconds = remaining % 60;
  ui.timerText.textContent = `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`;
  ui.timer.dataset.remaining = String(remaining);
  ui.timer.dataset.low = String(remaining < 60);
  if (remaining === 0 && !completed && !ui.views.quiz.hidden) void finish('Time is up.');
}

function renderProgress(next: Progress): void {
  ui.progressText.textContent = `${next.answered} / ${next.total}`;
  ui.progress.dataset.answered = String(next.answered);
  ui.progress.dataset.total = String(next.total);
  ui.progressBar.setAttribute('aria-valuemax', String(next.total));
  ui.progressBar.setAttribute('aria-valuenow', String(next.answered));
  ui.progressFill.style.width = next.total === 0 ? '0' : `${(100 * next.answered) / next.total}%`;
  const allAnswered = next.total > 0 && next.answered >= next.total;
  if (allAnswered && ui.finishBlock.hidden) {
    ui.questionBlock.hidden = true;
    ui.finishBlock.hidden = false;
    ui.finishTitle.focus();
  }
}

function renderQuestion(next: QuestionView): void {
  const changed = question?.question_id !== next.question_id;
  question = next;
  ui.questionBlock.hidden = false;
  ui.finishBlock.hidden = true;
  ui.questionBlock.dataset.questionId = next.question_id;
  ui.questionBlock.dataset.index = String(next.index);
  ui.questionNumber.textContent = `Question ${next.index + 1} of ${next.total}`;
  ui.questionText.textContent = next.text;
  const queued = client?.pendingAnswers.find((a) => a.question_id === next.question_id);
  ui.options.replaceChildren(
    ...next.options.map((option) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = option;
      button.dataset.testid = 'option-button';
      button.dataset.option = option;
      button.setAttribute('aria-pressed', String(queued?.selected_option === option));
      button.disabled = queued !== undefined;
      button.addEventListener('click', () => answer(next, option, button));
      return button;
    }),
  );
  ui.answerStatus.textContent = queued === undefined ? '' : 'Sending your answer…';
  setDeadline(next.remaining_seconds);
  showView('quiz');
  if (changed) ui.questionText.focus();
}

function renderSnapshot(snapshot: AssessmentSnapshot): void {
  ui.quizTitle.textContent = title;
  setDeadline(snapshot.remaining_seconds);
  if (snapshot.current_question !== undefined) renderQuestion(snapshot.current_question);
  renderProgress(snapshot.progress);
  showView('quiz');
}

function renderResult(summary: CompletedSummary): void {
  completed = true;
  deadline = undefined;
  ui.score.textContent = `${summary.score} / ${summary.total}`;
  ui.score.dataset.score = String(summary.score);
  ui.score.dataset.total = String(summary.total);
  const reason = summary.reason === 'time_up' ? 'The time ran out.' : 'You submitted the test.';
  ui.resultDetail.textContent = `${reason} ${summary.answered} of ${summary.total} questions answered.`;
  showView('result');
  ui.resultTitle.focus();
}

function renderOutbox(count: number): void {
  ui.outboxCount.hidden = count === 0;
  ui.outboxCount.dataset.count = String(count);
  ui.outboxCount.textContent =
    count === 1 ? '1 answer waiting to be sent' : `${count} answers waiting to be sent`;
}

function describe(error: unknown): string {
  if (error instanceof AssessmentClientError && error.code === 'timeout') {
    return 'The server did not answer in time. Your answer is kept and will be sent.';
  }
  return describeError(error);
}

// ------------------------------------------------------------------ actions

function answer(current: QuestionView, option: string, button: HTMLButtonElement): void {
  if (client === undefined) return;
  for (const b of ui.options.querySelectorAll('button')) b.disabled = true;
  button.setAttribute('aria-pressed', 'true');
  ui.answerStatus.textContent =
    client.state === 'open' ? 'Sending your answer…' : 'Saved; it will be sent when the connection is back.';
  showMessage('');
  client.submitAnswer(current.question_id, option).then(
    () => {
      ui.answerStatus.textContent = 'Answer saved.';
    },
    (error: unknown) => {
      if (!(error instanceof AssessmentClientError)) return showMessage(describe(error));
      if (error.code === 'timeout' || error.code === 'session_replaced' || error.code === 'closed') return;
      if (error.code === 'time_up' || error.code === 'assessment_completed')
        return void finish('Time is up.');
      showMessage(describe(error));
      // Out of step with the server (e.g. already_answered): ask it for the current question.
      client?.getQuestion().catch(() => {});
    },
  );
}

async function finish(reason?: string): Promise<void> {
  if (client === undefined || completing || completed) return;
  completing = true;
  ui.finishButton.disabled = true;
  if (reason !== undefined) showMessage(reason);
  try {
    renderResult(await client.completeAssessment());
    showMessage('');
  } catch (error) {
    showMessage(describe(error));
  } finally {
    completing = false;
    ui.finishButton.disabled = false;
  }
}

async function fetchToken(userId: string): Promise<string> {
  const url = new URL('/dev/token', location.href);
  url.searchParams.set('user_id', userId);
  url.searchParams.set('ttl_seconds', '3600');
  const response = await fetch(url, { cache: 'no-store' });
  const body = (await response.json().catch(() => ({}))) as { token?: string; message?: string };
  if (!response.ok || typeof body.token !== 'string') {
    throw new Error(`could not get a token: ${body.message ?? response.status}`);
  }
  return body.token;
}

function signIn(userId: string): void {
  client?.close();
  completed = false;
  question = undefined;
  deadline = undefined;
  title = '';
  sessionStorage.setItem(USER_KEY, userId);
  ui.userLabel.textContent = userId;
  ui.switchUser.hidden = false;
  showMessage('');

  const c = new AssessmentClient({ url: wsUrl, testId, getToken: () => fetchToken(userId) });
  client = c;
  c.on('state', (state, change) => renderState(state, change));
  c.on('auth_success', (data) => {
    if (data.recovery_error === true) showMessage('Your previous progress could not be loaded right now.');
    void c.getTestInfo().then((info) => {
      title = info.title;
      ui.testTitle.textContent = info.title;
      ui.quizTitle.textContent = info.title;
      ui.testMeta.textContent = `${info.total_questions} questions · ${Math.round(info.duration_seconds / 60)} minutes`;
      if (!data.recovered && !completed && ui.views.quiz.hidden) {
        ui.startButton.disabled = false;
        showView('intro');
      }
    }, showError);
    if (data.recovered && data.recovered_assessment !== undefined) renderSnapshot(data.recovered_assessment);
    else if (!completed && ui.views.quiz.hidden) showView('intro');
  });
  c.on('assessment_started', renderSnapshot);
  c.on('assessment_recovered', renderSnapshot);
  c.on('question', renderQuestion);
  c.on('answer_feedback', (data) => {
    renderProgress(data.progress);
    // A duplicate acknowledgement is not followed by the next question: ask for it.
    if (
      data.duplicate &&
      question?.question_id === data.question_id &&
      data.progress.answered < data.progress.total
    ) {
      c.getQuestion().catch(() => {});
    }
  });
  c.on('assessment_completed', renderResult);
  c.on('outbox', (entries) => renderOutbox(entries.length));
  c.on('session_replaced', () => {
    showView('replaced');
    ui.replacedTitle.focus();
  });
  c.on('auth_error', (error) => {
    if (error.willRetry) return;
    showMessage(`Sign-in failed: ${error.message} (${error.code})`);
    showView('login');
  });
  c.on('error', (error) => {
    if (error.code !== 'token_unavailable') return;
    showMessage(
      navigator.onLine
        ? `Cannot get a sign-in token (${error.message}); retrying.`
        : 'You are offline. Your progress is kept; the page reconnects when the network is back.',
      true,
    );
  });
  renderOutbox(c.pendingAnswers.length);
  c.connect().then(() => showMessage(''), showError);
}

// ------------------------------------------------------------------ wiring

ui.loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const userId = ui.userInput.value.trim();
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(userId)) {
    showMessage('Enter a user id: letters, digits and _ . @ - only.');
    ui.userInput.focus();
    return;
  }
  signIn(userId);
});

ui.startButton.addEventListener('click', () => {
  ui.startButton.disabled = true;
  client?.startAssessment().then(
    () => showMessage(''),
    (error: unknown) => {
      ui.startButton.disabled = false;
      showError(error);
    },
  );
});

ui.finishButton.addEventListener('click', () => void finish());

ui.takeOverButton.addEventListener('click', () => {
  showMessage('');
  client?.connect().catch(showError);
});

ui.switchUser.addEventListener('click', () => {
  client?.close();
  client = undefined;
  sessionStorage.removeItem(USER_KEY);
  ui.userLabel.textContent = 'nobody';
  ui.switchUser.hidden = true;
  renderOutbox(0);
  renderState('closed');
  showView('login');
  ui.userInput.focus();
});

window.assessmentDemo = {
  get client() {
    return client;
  },
  dropConnection: () => client?.dropConnection(),
};

setInterval(renderTimer, 250);
renderState('closed');
showView('login');

const initialUser = params.get('user') ?? sessionStorage.getItem(USER_KEY);
ui.userInput.value = initialUser ?? `student-${Math.floor(Math.random() * 9000 + 1000)}`;
if (initialUser !== null && initialUser !== '') signIn(initialUser);
else ui.userInput.focus();
