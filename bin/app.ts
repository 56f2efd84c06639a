#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app';
import { ContextError } from '../lib/stack-context';

try {
  buildApp(new App());
} catch (error) {
  // A configuration mistake: the message says what to fix, a stack trace would only bury it.
  if (!(error instanceof ContextError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
