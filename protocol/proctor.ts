/**
 * The proctor extension (docs/protocol.md, "Extension: proctor view"): additive frames for staff
 * tokens. A v1 client never sends these types and ignores frames of types it does not know.
 */

/** Why a student's last connection ended. */
export type ConnectionEndReason =
  | 'dropped'
  | 'closed'
  | 'replaced'
  | 'idle'
  | 'token_expired'
  | 'max_duration';

export type ProctorStudentStatus = 'not_started' | 'in_progress' | 'completed';

/** One student of the watched test, as the proctor sees them. */
export interface ProctorStudent {
  user_id: string;
  /** A connection holds the student's key now. */
  connected: boolean;
  /** ISO-8601: when the current state began (connected, or offline); absent if never connected. */
  since?: string;
  /** When offline: why the last connection ended. */
  end_reason?: ConnectionEndReason;
  status: ProctorStudentStatus;
  answered: number;
  total: number;
  /** ISO-8601, once the attempt is started; time left = deadline - server time. */
  deadline?: string;
  completion_reason?: 'submitted' | 'time_up';
  completed_at?: string;
  /** Once completed. */
  score?: number;
  /** Connections that authenticated for this student and test. */
  connections: number;
  /** Connections that came back to the attempt in progress. */
  reconnects: number;
  /** Gaps before those reconnects, in seconds; a gap still open is not included. */
  offline_seconds: number;
  longest_gap_seconds: number;
  /** Times another tab or device took the session over. */
  replaced: number;
}

export interface ProctorSubscribeData {
  test_id: string;
}

export interface ProctorSnapshotData {
  test_id: string;
  title: string;
  duration_seconds: number;
  total_questions: number;
  /** The server's clock when the snapshot was taken (ISO-8601). */
  server_time: string;
  students: ProctorStudent[];
}

export type ProctorEventType =
  | 'connected'
  | 'recovered'
  | 'replaced'
  | 'dropped'
  | 'started'
  | 'answered'
  | 'finished';

export interface ProctorEventData {
  test_id: string;
  event: ProctorEventType;
  /** ISO-8601. */
  at: string;
  /** The fields that changed; merge them into the student's line. */
  student: Partial<ProctorStudent> & { user_id: string };
}

export interface ProctorUnsubscribedData {
  test_id: string;
}
