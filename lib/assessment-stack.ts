import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { AssessmentWebSocketBackend, type JwtVerification } from './assessment-websocket-backend';
import { readStackContext, type StackContext } from './stack-context';

export interface AssessmentStackProps extends StackProps {
  /**
   * Configuration, already read and checked.
   *
   * @default - read from this stack's CDK context with readStackContext
   */
  readonly config?: StackContext;
}

/**
 * The deployable stack: configuration comes from CDK context (see lib/stack-context.ts and
 * docs/operations.md), everything else from the AssessmentWebSocketBackend construct.
 */
export class AssessmentStack extends Stack {
  public readonly backend: AssessmentWebSocketBackend;

  constructor(scope: Construct, id: string, props: AssessmentStackProps = {}) {
    const { config, ...stackProps } = props;
    super(scope, id, stackProps);
    const context = config ?? readStackContext(this.node);

    // The context names an existing secret by its ARN; the construct takes the secret itself.
    const given = context.jwt;
    let jwt: JwtVerification;
    if (given.kind === 'jwks') jwt = given;
    else {
      const { secretArn, ...rest } = given;
      jwt = {
        ...rest,
        ...(secretArn !== undefined
          ? { secret: secretsmanager.Secret.fromSecretCompleteArn(this, 'JwtSecret', secretArn) }
          : {}),
      };
    }

    this.backend = new AssessmentWebSocketBackend(this, 'Backend', {
      jwt,
      ...(context.stageName !== undefined ? { stageName: context.stageName } : {}),
      ...(context.allowedOrigins !== undefined ? { allowedOrigins: context.allowedOrigins } : {}),
      ...(context.authDeadlineSeconds !== undefined
        ? { authDeadlineSeconds: context.authDeadlineSeconds }
        : {}),
      ...(context.aiService !== undefined
        ? {
            aiService: {
              url: context.aiService.url,
              ...(context.aiService.timeoutMs !== undefined
                ? { timeout: Duration.millis(context.aiService.timeoutMs) }
                : {}),
            },
          }
        : {}),
      alarms: {
        enabled: context.alarms ?? true,
        ...(context.alarmTopicArn !== undefined
          ? { topic: sns.Topic.fromTopicArn(this, 'AlarmTopic', context.alarmTopicArn) }
          : {}),
      },
    });

    const backend = this.backend;
    new CfnOutput(this, 'WebSocketUrl', {
      description: 'wss:// URL the quiz frontend connects to',
      value: backend.webSocketUrl,
    });
    new CfnOutput(this, 'CallbackUrl', {
      description: '@connections endpoint of the stage (the functions post to it)',
      value: backend.callbackUrl,
    });
    new CfnOutput(this, 'ConnectionsTableName', { value: backend.tables.connections.tableName });
    new CfnOutput(this, 'AssessmentsTableName', { value: backend.tables.assessments.tableName });
    new CfnOutput(this, 'TestsTableName', {
      description:
        'Load test definitions with: npm run load-test-definitions -- --table <this> test-definitions/*.json',
      value: backend.tables.tests.tableName,
    });
    // Only for a secret this stack created: an imported one is already known to its owner.
    if (jwt.kind === 'hs256' && !jwt.secret && backend.jwtSecret) {
      new CfnOutput(this, 'JwtSecretArn', {
        description: 'Secrets Manager secret holding the HS256 key; share it with the token issuer',
        value: backend.jwtSecret.secretArn,
      });
    }
  }
}
