export * from './arns';
export {
  type ConditionBlock,
  type ContextValue,
  compileConditions,
  contextOf,
  type RequestContext,
  unsupportedOperators,
} from './conditions';
export { conditionKeysOf, type Decision, evaluate, evaluateRequest } from './evaluate';
