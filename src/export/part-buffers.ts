/**
 * Part buffers shared by every object upload in the process. An export writes
 * a new object per chunk; allocating a fresh 5 MiB buffer per part would
 * churn memory and wake the garbage collector for nothing. A buffer comes
 * back only once S3 answered for its part (the SDK no longer reads it). At
 * most IDLE_LIMIT idle buffers of each size are kept, so an idle worker holds
 * at most 20 MiB of them.
 */
const IDLE_LIMIT = 4;
const idle = new Map<number, Buffer[]>();

export function takePartBuffer(bytes: number): Buffer {
  return idle.get(bytes)?.pop() ?? Buffer.allocUnsafe(bytes);
}

export function returnPartBuffer(buffer: Buffer): void {
  const free = idle.get(buffer.length) ?? [];
  if (free.length < IDLE_LIMIT) free.push(buffer);
  idle.set(buffer.length, free);
}
