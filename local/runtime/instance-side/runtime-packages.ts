/** The package scopes the Lambda Node.js runtime ships (the AWS SDK v3 and what it is built from). */
export const RUNTIME_PACKAGE_SCOPES = ['@aws-sdk', '@smithy', '@aws-crypto', '@aws'] as const;

export function providedByRuntime(specifier: string): boolean {
  return RUNTIME_PACKAGE_SCOPES.some((scope) => specifier.startsWith(`${scope}/`));
}
