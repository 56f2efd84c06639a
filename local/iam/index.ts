export * from './arns';
export { type Decision, evaluate } from './evaluate';
