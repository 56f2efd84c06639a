/**
 * Which mode `npm start` runs when neither --in-process nor --from-assembly is given: true runs the
 * TypeScript handlers in the stack's process (the former mode), false the synthesized assembly.
 */
export const DEFAULT_IN_PROCESS = false;
