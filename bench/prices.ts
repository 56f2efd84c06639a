/**
 * AWS list prices used to price the counted operations: us-east-1, on-demand, no free tier, the
 * first pricing tier of each meter. Source: the AWS pricing pages for each service (named per
 * entry), as published when this table was written on 2026-12-01. This machine has no internet
 * access, so the figures were not re-read live: check them before relying on the dollar amounts.
 * docs/benchmarks.md repeats this table.
 */
export const PRICES_AS_OF = '2026-12-01';

export const PRICES = {
  apiGatewayMessagePerMillion: {
    usd: 1.0,
    source: 'API Gateway pricing, WebSocket APIs: messages (first 1 billion), billed per 32 KB',
  },
  apiGatewayConnectionMinutePerMillion: {
    usd: 0.25,
    source: 'API Gateway pricing, WebSocket APIs: connection minutes',
  },
  lambdaRequestPerMillion: { usd: 0.2, source: 'Lambda pricing: requests' },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    source: 'Lambda pricing: duration, Arm (first 7.5 billion GB-seconds a month)',
  },
  dynamoWriteUnitPerMillion: {
    usd: 0.625,
    source: 'DynamoDB pricing, on-demand, Standard table class: write request units',
  },
  dynamoReadUnitPerMillion: {
    usd: 0.125,
    source: 'DynamoDB pricing, on-demand, Standard table class: read request units',
  },
  logsIngestionPerGb: {
    usd: 0.5,
    source: 'CloudWatch pricing: logs ingestion (Standard; also the first tier of Lambda vended logs)',
  },
  customMetricPerMonth: {
    usd: 0.3,
    source:
      'CloudWatch pricing: custom metrics (first 10,000), per metric and month; EMF data points are not billed apart',
  },
  alarmPerMonth: { usd: 0.1, source: 'CloudWatch pricing: standard-resolution alarm, per alarm and month' },
} as const;
