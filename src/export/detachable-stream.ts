import { Duplex, Transform, TransformCallback } from 'node:stream';

/**
 * Wraps the Encryption SDK's encrypt stream so that destroying it (a failed
 * upload, a cancelled export) never crashes the process. The SDK joins its
 * inner streams with a callback-less `pipeline`, which rethrows a premature
 * close as an uncaught exception. So this wrapper never destroys the SDK
 * stream: on destroy it detaches, ends the SDK stream's input and lets the
 * little it still holds drain into nowhere. Backpressure passes through both
 * ways.
 */
export class DetachableStream extends Transform {
  private onFlushed: (() => void) | null = null;

  constructor(private readonly inner: Duplex) {
    super();
    inner.on('data', (data: Buffer) => {
      if (!this.push(data)) inner.pause();
    });
    inner.on('end', () => this.onFlushed?.());
    inner.on('error', (error: Error) => this.destroy(error));
  }

  override _read(size: number): void {
    this.inner.resume();
    super._read(size);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.inner.write(chunk)) callback();
    else this.inner.once('drain', () => callback());
  }

  override _flush(callback: TransformCallback): void {
    this.onFlushed = () => callback();
    this.inner.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.removeAllListeners('data');
    this.inner.removeAllListeners('end');
    this.inner.on('error', () => undefined);
    this.inner.resume();
    this.inner.end();
    callback(error);
  }
}
