/**
 * `requests_per_route`: DynamoDB requests, round trips, read and write units, and `@connections`
 * calls for every route and message type, each path measured on the real handlers.
 */

import { RATE_LIMIT } from '../../protocol';
import { type Invocation, longOptionTest, MeteredBackend } from '../support/metered-backend';
import { round } from '../support/stats';

export interface RouteCost {
  round_trips: number;
  requests: number;
  operations: Record<string, number>;
  rcu: number;
  wcu: number;
  index_wcu: number;
  connections_calls: { post: number; delete: number };
  /** 1 when the reply's last frame left as the two-way route's response (no `@connections` call). */
  route_responses: number;
}

export const CAPACITY_METHOD =
  'computed from item sizes by DynamoDB billing rules (reads per 4 KB, half when eventually consistent; writes per 1 KB of the larger of the item before and after; refused conditional writes billed; GSI writes added); tests-table reads left out (cached per container for 60 s)';

function summarize(invocation: Invocation): RouteCost {
  return {
    round_trips: invocation.roundTrips,
    requests: invocation.requests,
    operations: invocation.operations,
    rcu: round(invocation.rcu),
    wcu: round(invocation.wcu),
    index_wcu: round(invocation.indexWcu),
    connections_calls: { post: invocation.posts.length, delete: invocation.closes },
    route_responses: invocation.routeResponse === undefined ? 0 : 1,
  };
}

export async function measureRequestsPerRoute(): Promise<Record<string, RouteCost>> {
  const questions = 30;
  const test = longOptionTest('bench-routes', questions, 3600);
  const metered = await MeteredBackend.start([test]);
  const out: Record<string, RouteCost> = {};
  const keep = (name: string, measured: { invocation: Invocation }) => {
    out[name] = summarize(measured.invocation);
  };
  try {
    const connect = await metered.connect(test.test_id);
    keep('$connect', connect);
    const conn = connect.result;
    keep('auth (no assessment yet)', await metered.auth(conn, 'alice', 'first'));
    // The first message of a container reads the test definition; warm it as a live container is.
    await metered.message(conn, 'get_test_info');
    keep('message get_test_info', await metered.message(conn, 'get_test_info'));
    keep('message heartbeat', await metered.message(conn, 'heartbeat'));
    keep('message start_assessment', await metered.message(conn, 'start_assessment'));
    keep('message start_assessment (exists)', await metered.message(conn, 'start_assessment'));
    keep('message get_question', await metered.message(conn, 'get_question'));
    keep('message get_assessment_status', await metered.message(conn, 'get_assessment_status'));
    for (let i = 0; i < questions; i++) {
      metered.clock.advance(RATE_LIMIT.windowMs); // a fresh budget window per answer
      // A live container has the test cached (60 s); warm it before the answers that are kept.
      if (i === 0 || i === questions - 1) await metered.message(conn, 'get_test_info');
      const question = test.questions[i];
      if (!question) throw new Error('no such question');
      const data = { question_id: question.question_id, selected_option: question.options[0] };
      const measured = await metered.message(conn, 'submit_answer', { request_id: `r${i}`, data });
      if (i === 0) keep('message submit_answer (1st of 30, long options)', measured);
      if (i === questions - 1) {
        keep('message submit_answer (30th of 30, long options)', measured);
        keep(
          'message submit_answer (duplicate)',
          await metered.message(conn, 'submit_answer', { request_id: `r${i}`, data }),
        );
      }
    }
    keep('message complete_assessment', await metered.message(conn, 'complete_assessment'));

    const drop = await metered.disconnect(conn);
    keep('$disconnect', drop);
    const again = (await metered.connect(test.test_id)).result;
    keep('auth with recovery (completed)', await metered.auth(again, 'alice', 'recovery'));

    // Recovery into an assessment still in progress, and replacing a live connection.
    const bobFirst = (await metered.connect(test.test_id)).result;
    await metered.auth(bobFirst, 'bob', 'first');
    await metered.message(bobFirst, 'start_assessment');
    await metered.disconnect(bobFirst);
    const bob = (await metered.connect(test.test_id)).result;
    keep('auth with recovery (in progress)', await metered.auth(bob, 'bob', 'recovery'));
    const bobAgain = (await metered.connect(test.test_id)).result;
    keep('auth replacing a live connection', await metered.auth(bobAgain, 'bob', 'replace'));
    keep(
      '$default (not JSON)',
      await metered.measure('$default', 'not json', 8, () => bobAgain.sendRaw('not json')),
    );
  } finally {
    await metered.stop();
  }
  return out;
}
