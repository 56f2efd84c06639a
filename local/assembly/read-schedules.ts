/**
 * EventBridge rules with a schedule expression, and the functions of this app they target (an
 * alias or version target runs its function). Event-pattern rules are not run.
 */
import { type FunctionIndex, unqualifiedFunctionArn } from './read-functions';
import type { StackState } from './stack-state';
import type { ScheduleDescription } from './template';
import { list, str } from './values';

type Target = ScheduleDescription['targets'][number];

/** A target's constant `Input`: the JSON it holds, or the text when it is not JSON. */
function targetInput(target: Record<string, unknown>): unknown {
  if (typeof target.Input !== 'string') return undefined;
  try {
    return JSON.parse(target.Input);
  } catch {
    return target.Input;
  }
}

function scheduleTargets(
  id: string,
  props: Record<string, unknown>,
  functions: FunctionIndex,
  warnings: string[],
): Target[] {
  const targets: Target[] = [];
  for (const target of list<Record<string, unknown>>(props.Targets)) {
    const functionId = functions.byArn.get(unqualifiedFunctionArn(str(target.Arn)));
    if (!functionId) {
      warnings.push(`${id}: target ${str(target.Arn)} is not a function of this app; it is not invoked`);
      continue;
    }
    const input = targetInput(target);
    targets.push({ functionId, ...(input !== undefined ? { input } : {}) });
  }
  return targets;
}

/** The rule's schedule, or why it is not run. */
export function describeSchedule(
  state: StackState,
  logicalId: string,
  functions: FunctionIndex,
  warnings: string[],
): ScheduleDescription | { notRun: string } {
  const p = state.props(logicalId);
  const id = `${state.artifact.artifactId}/${logicalId}`;
  const expression = str(p.ScheduleExpression);
  if (!expression) return { notRun: 'event-pattern rules are not run (schedules only)' };
  const targets = scheduleTargets(id, p, functions, warnings);
  return {
    id,
    logicalId,
    ruleName: state.physicalName(logicalId),
    arn: str(state.ctx.getAtt(logicalId, 'Arn')),
    expression,
    enabled: p.State === undefined || p.State === 'ENABLED',
    targets,
  };
}
