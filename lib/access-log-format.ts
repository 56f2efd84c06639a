/**
 * The stage's access log line. Only `$context` fields that API Gateway fills in itself: nothing from
 * the request (query string, headers, body), so a token can never end up in a log, wherever a client
 * puts it.
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  connectionId: '$context.connectionId',
  routeKey: '$context.routeKey',
  eventType: '$context.eventType',
  messageDirection: '$context.messageDirection',
  status: '$context.status',
  requestTime: '$context.requestTime',
  requestTimeEpoch: '$context.requestTimeEpoch',
  connectedAt: '$context.connectedAt',
  sourceIp: '$context.identity.sourceIp',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integration.error',
  errorMessage: '$context.error.message',
  errorResponseType: '$context.error.responseType',
};

/** One JSON object per line, so CloudWatch Logs Insights discovers the fields by itself. */
export const ACCESS_LOG_FORMAT = JSON.stringify(ACCESS_LOG_FIELDS);
