/**
 * Enforces API Gateway's size quotas on what clients send: a frame over 32 KB, or a message
 * (all fragments together) over 128 KB, closes the connection with 1009.
 *
 * `ws` only knows a per-message limit (`maxPayload`, kept as a backstop), so this module reads the
 * frame headers from the raw TCP stream itself. Its `data` listener is put in front of the one
 * `ws` installs, so an oversized frame is detected before `ws` could emit it as a message. Frames
 * are parsed without being buffered: only the header bytes are kept, payloads are skipped over.
 */
import type { Duplex } from 'node:stream';

export type SizeViolation = 'frame' | 'message';

const CONTINUATION = 0x0;
const TEXT = 0x1;
const BINARY = 0x2;

/**
 * Watches the frames arriving on `socket` (after the upgrade). Calls `onViolation` once, for the
 * first frame over `maxFrameBytes` or message over `maxMessageBytes`, then stops watching.
 * Returns a function that stops watching.
 */
export function guardFrameSizes(
  socket: Duplex,
  limits: { maxFrameBytes: number; maxMessageBytes: number },
  onViolation: (kind: SizeViolation, bytes: number) => void,
): () => void {
  let header = Buffer.alloc(0);
  let skip = 0;
  let messageBytes = 0;

  const stop = (): void => {
    socket.removeListener('data', onData);
  };

  /** Parses a complete header if `header` holds one; returns its length, or 0 if incomplete. */
  const tryHeader = (): { length: number; opcode: number; payload: number } | null => {
    if (header.length < 2) return null;
    const opcode = (header[0] as number) & 0x0f;
    const second = header[1] as number;
    const masked = (second & 0x80) !== 0;
    const len7 = second & 0x7f;
    let length = 2;
    let payload = len7;
    if (len7 === 126) {
      if (header.length < 4) return null;
      payload = header.readUInt16BE(2);
      length = 4;
    } else if (len7 === 127) {
      if (header.length < 10) return null;
      payload = Number(header.readBigUInt64BE(2));
      length = 10;
    }
    if (masked) length += 4;
    if (header.length < length) return null;
    return { length, opcode, payload };
  };

  function onData(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (skip > 0) {
        const step = Math.min(skip, chunk.length - offset);
        skip -= step;
        offset += step;
        continue;
      }
      // Collect header bytes (at most 14) until a whole header is there.
      const take = Math.min(14 - header.length, chunk.length - offset);
      const before = header.length;
      header = Buffer.concat([header, chunk.subarray(offset, offset + take)]);
      const parsed = tryHeader();
      if (parsed === null) {
        offset += take;
        continue;
      }
      // Only the header's own bytes are consumed; the rest of `take` belongs to the payload.
      offset += parsed.length - before;
      header = Buffer.alloc(0);
      skip = parsed.payload;
      if (parsed.opcode === TEXT || parsed.opcode === BINARY) messageBytes = parsed.payload;
      else if (parsed.opcode === CONTINUATION) messageBytes += parsed.payload;
      else continue; // control frames (close, ping, pong) are at most 125 bytes by the protocol
      if (parsed.payload > limits.maxFrameBytes) {
        stop();
        onViolation('frame', parsed.payload);
        return;
      }
      if (messageBytes > limits.maxMessageBytes) {
        stop();
        onViolation('message', messageBytes);
        return;
      }
    }
  }

  socket.prependListener('data', onData);
  return stop;
}
