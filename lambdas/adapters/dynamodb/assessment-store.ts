/**
 * Assessments on DynamoDB: one item per (user, test), keyed by the connection key, which is
 * injective. Every change is one conditional write on that item, so exactly-once answers need
 * no transactions (which dynalite lacks) and no read-then-write.
 * Answers are compact, because DynamoDB bills a write by the item's size and every answer
 * rewrites the item: `choices` lists each answer's option position and `requestHashes` the hash
 * of the request id that stored it, in question order, appended by the same update (so entry j of
 * one belongs to entry j of the other). About 16 bytes an answer, where the option's text was up
 * to 500. Items written before hold `answers` (question id -> text) and `requestIds` (request id
 * -> question id, or earlier `{questionId, option}`); they read the same, and answers added to
 * them are compact (the answer's condition checks both kinds of request id).
 * In-progress items carry `activeShard`, which puts them in the sparse deadline index that the
 * sweep queries; completion removes it.
 * `holderEpoch` fences replaced connections: auth raises it to the epoch of the key claim it won,
 * and every write from a connection is conditional on it being no greater than that
 * connection's own. An auth before the attempt starts leaves a holder-only item (no `status`),
 * which reads as no attempt.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { requestHash } from '../../core/answers';
import { connectionKey, parseConnectionKey } from '../../core/connection-key';
import { setOwn } from '../../core/own-keys';
import type {
  AnswerWrite,
  AssessmentRecord,
  AssessmentStore,
  CompletionWrite,
  CreateResult,
  LegacyAnswers,
  NewAssessment,
} from '../../core/ports';
import { IndexShards } from './shards';
import { ACTIVE_SHARDS, ASSESSMENTS_TABLE } from './table-definitions';

const ACTIVE_INDEX = ASSESSMENTS_TABLE.indexes[0]?.indexName ?? 'active-by-deadline';

const ACTIVE = new IndexShards('active', ACTIVE_SHARDS);

/** The stored item: the record's fields, flattened completion, and the index attribute. */
interface AssessmentItem
  extends Omit<AssessmentRecord, 'completion' | 'choices' | 'legacy' | 'pendingRequestIds'> {
  pk: string;
  choices?: number[];
  requestHashes?: string[];
  /** Items from before compact answers: question id -> option text. */
  answers?: Record<string, string>;
  /** Items from before compact answers: request id -> question id (earlier: the whole answer). */
  requestIds?: Record<string, string | { questionId: string }>;
  activeShard?: string;
  completionReason?: 'submitted' | 'time_up';
  score?: number;
  completedAtMs?: number;
  /** `<PENDING_PREFIX><question index>`: a request id kept until its AI turn is counted. */
  [pending: `${typeof PENDING_PREFIX}${number}`]: string;
}

/**
 * Top-level attributes, because an answer's update cannot create a map that may or may not exist
 * (attempts started before this, or without an AI thread, have none) and set a key in it.
 */
const PENDING_PREFIX = 'aiRequest';
const pendingAttribute = (questionIndex: number) => `${PENDING_PREFIX}${questionIndex}`;
const PENDING_PATTERN = new RegExp(`^${PENDING_PREFIX}(\\d+)$`);

function toRecord(item: AssessmentItem): AssessmentRecord {
  const hashes = item.requestHashes ?? [];
  const choices = (item.choices ?? []).flatMap((option, j) => {
    const request = hashes[j];
    return request === undefined ? [] : [{ option, request }];
  });
  const legacy = legacyOf(item);
  const pending = pendingOf(item);
  return {
    userId: item.userId,
    testId: item.testId,
    assessmentId: item.assessmentId,
    threadId: item.threadId,
    status: item.status,
    startedAtMs: item.startedAtMs,
    deadlineMs: item.deadlineMs,
    total: item.total,
    answeredCount: item.answeredCount,
    choices,
    ...(legacy ? { legacy } : {}),
    ...(pending ? { pendingRequestIds: pending } : {}),
    ...(typeof item.holderEpoch === 'number' ? { holderEpoch: item.holderEpoch } : {}),
    ...(typeof item.aiTurnsDelivered === 'number' ? { aiTurnsDelivered: item.aiTurnsDelivered } : {}),
    ...(item.status === 'completed' && item.completionReason
      ? {
          completion: {
            reason: item.completionReason,
            score: item.score ?? 0,
            completedAtMs: item.completedAtMs ?? item.deadlineMs,
          },
        }
      : {}),
  };
}

/**
 * Map keys were stored with a prefix: the SDK's unmarshalling drops a key named `__proto__`, and
 * request ids are chosen by clients, so a stored key must never be a bare client string.
 */
const STORED_KEY_PREFIX = '=';
const storedKey = (key: string) => `${STORED_KEY_PREFIX}${key}`;

function fromStoredMap<T>(stored: Record<string, T> | undefined): Record<string, T> {
  const map: Record<string, T> = {};
  for (const [key, value] of Object.entries(stored ?? {})) {
    if (key.startsWith(STORED_KEY_PREFIX)) setOwn(map, key.slice(STORED_KEY_PREFIX.length), value);
  }
  return map;
}

function legacyOf(item: AssessmentItem): LegacyAnswers | undefined {
  const options = fromStoredMap(item.answers);
  if (Object.keys(options).length === 0) return undefined;
  const requestQuestions: Record<string, string> = {};
  for (const [requestId, value] of Object.entries(fromStoredMap(item.requestIds))) {
    setOwn(requestQuestions, requestId, typeof value === 'string' ? value : value.questionId);
  }
  return { options, requestQuestions };
}

function pendingOf(item: AssessmentItem): Record<string, string> | undefined {
  const pending: Record<string, string> = {};
  for (const [name, value] of Object.entries(item)) {
    const index = PENDING_PATTERN.exec(name)?.[1];
    if (index !== undefined && typeof value === 'string') pending[index] = value;
  }
  return Object.keys(pending).length > 0 ? pending : undefined;
}

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;

/** A holder-only item (bound by auth before the attempt started) is not an attempt. */
const isAttempt = (item: Record<string, unknown> | undefined): boolean =>
  item !== undefined && typeof item.status === 'string';

/** Writes from a connection hold only while no later connection holds the attempt. */
const HOLDER_CONDITION = '(attribute_not_exists(holderEpoch) OR holderEpoch <= :epoch)';

export class DynamoAssessmentStore implements AssessmentStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(userId: string, testId: string): Promise<AssessmentRecord | null> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: connectionKey(userId, testId) },
        ConsistentRead: true,
      }),
    );
    return isAttempt(Item) ? toRecord(Item as AssessmentItem) : null;
  }

  async create(assessment: NewAssessment & { holderEpoch: number }): Promise<CreateResult> {
    const pk = connectionKey(assessment.userId, assessment.testId);
    const item: AssessmentItem = {
      pk,
      ...assessment,
      status: 'in_progress',
      answeredCount: 0,
      activeShard: ACTIVE.of(pk),
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: `attribute_not_exists(#status) AND ${HOLDER_CONDITION}`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':epoch': assessment.holderEpoch },
        }),
      );
      return { created: true, record: toRecord(item) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }),
    );
    if (isAttempt(Item)) return { created: false, record: toRecord(Item as AssessmentItem) };
    // No attempt, so the refusal was the holder condition: a later connection holds this key.
    return { fenced: true };
  }

  async bindHolder(
    userId: string,
    testId: string,
    epoch: number,
  ): Promise<{ record: AssessmentRecord | null; fenced: boolean }> {
    const pk = connectionKey(userId, testId);
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: 'SET holderEpoch = :epoch',
          ConditionExpression: 'attribute_not_exists(holderEpoch) OR holderEpoch < :epoch',
          ExpressionAttributeValues: { ':epoch': epoch },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { record: isAttempt(Attributes) ? toRecord(Attributes as AssessmentItem) : null, fenced: false };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // Refused: this epoch (a retried auth) or a later one holds the attempt already.
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }),
    );
    const held = typeof Item?.holderEpoch === 'number' ? Item.holderEpoch : epoch;
    return { record: isAttempt(Item) ? toRecord(Item as AssessmentItem) : null, fenced: held > epoch };
  }

  async recordAnswer(write: AnswerWrite): Promise<AssessmentRecord | null> {
    const hash = requestHash(write.requestId);
    const keep = write.keepRequestIdForAi === true;
    return this.conditionalUpdate(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: connectionKey(write.userId, write.testId) },
        UpdateExpression: `SET #choices = list_append(if_not_exists(#choices, :none), :choice), #hashes = list_append(if_not_exists(#hashes, :none), :hashEntry), answeredCount = answeredCount + :one, holderEpoch = :epoch${keep ? ', #pending = :requestId' : ''}`,
        // The hash must be new, and so must the request id among answers stored in the old form.
        ConditionExpression: `#status = :inProgress AND answeredCount = :index AND deadlineMs > :now AND NOT contains(#hashes, :hash) AND attribute_not_exists(requestIds.#legacyRequest) AND ${HOLDER_CONDITION}`,
        ExpressionAttributeNames: {
          '#choices': 'choices',
          '#hashes': 'requestHashes',
          '#legacyRequest': storedKey(write.requestId),
          '#status': 'status',
          ...(keep ? { '#pending': pendingAttribute(write.questionIndex) } : {}),
        },
        ExpressionAttributeValues: {
          ':none': [],
          ':choice': [write.option],
          ':hashEntry': [hash],
          ':hash': hash,
          ':one': 1,
          ':inProgress': 'in_progress',
          ':index': write.questionIndex,
          ':now': write.nowMs,
          ':epoch': write.epoch,
          ...(keep ? { ':requestId': write.requestId } : {}),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
  }

  async complete(write: CompletionWrite): Promise<AssessmentRecord | null> {
    return this.conditionalUpdate(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: connectionKey(write.userId, write.testId) },
        UpdateExpression:
          'SET #status = :completed, completionReason = :reason, score = :score, completedAtMs = :at REMOVE activeShard',
        ConditionExpression:
          write.epoch === undefined
            ? '#status = :inProgress AND answeredCount = :expected'
            : `#status = :inProgress AND answeredCount = :expected AND ${HOLDER_CONDITION}`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ...(write.epoch === undefined ? {} : { ':epoch': write.epoch }),
          ':completed': 'completed',
          ':inProgress': 'in_progress',
          ':reason': write.reason,
          ':score': write.score,
          ':at': write.completedAtMs,
          ':expected': write.expectedAnsweredCount,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
  }

  async recordAiTurns(
    userId: string,
    testId: string,
    turns: { from: number; delivered: number },
  ): Promise<number | null> {
    const delivered: Record<string, string> = {};
    for (let index = turns.from; index < turns.delivered; index++) {
      delivered[`#p${index - turns.from}`] = pendingAttribute(index);
    }
    const removals = Object.keys(delivered);
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: connectionKey(userId, testId) },
          UpdateExpression: `SET aiTurnsDelivered = :delivered${removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''}`,
          // False when the attribute is absent: only attempts with an AI thread carry the count,
          // and a slower request that delivered fewer turns never lowers it.
          ConditionExpression: 'aiTurnsDelivered < :delivered',
          ...(removals.length > 0 ? { ExpressionAttributeNames: delivered } : {}),
          ExpressionAttributeValues: { ':delivered': turns.delivered },
          // The count this write replaced says which turns it recorded (and so whose to show).
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      const previous = Attributes?.aiTurnsDelivered;
      return typeof previous === 'number' ? previous : turns.from;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return null;
    }
  }

  /** The updated record, or null when the write's condition did not hold. */
  private async conditionalUpdate(command: UpdateCommand): Promise<AssessmentRecord | null> {
    try {
      const { Attributes } = await this.doc.send(command);
      return isAttempt(Attributes) ? toRecord(Attributes as AssessmentItem) : null;
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  async findOverdue(nowMs: number, limit: number): Promise<{ userId: string; testId: string }[]> {
    const found: { userId: string; testId: string }[] = [];
    for (const shard of ACTIVE.all()) {
      if (found.length >= limit) break;
      const { Items = [] } = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: ACTIVE_INDEX,
          KeyConditionExpression: 'activeShard = :shard AND deadlineMs <= :now',
          ExpressionAttributeValues: { ':shard': shard, ':now': nowMs },
          Limit: limit - found.length,
        }),
      );
      for (const item of Items) {
        const { userId, testId } = parseConnectionKey(String(item.pk));
        if (testId !== null) found.push({ userId, testId });
      }
    }
    return found;
  }
}
