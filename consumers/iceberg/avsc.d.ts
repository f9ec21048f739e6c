// The part of avsc (no published types) this writer uses: Avro object
// container files, encoded and decoded as streams.
declare module 'avsc' {
  import type { Duplex } from 'node:stream';

  export interface BlockEncoderOptions {
    codec?: 'null' | 'deflate';
    metadata?: Record<string, Buffer>;
    blockSize?: number;
  }

  const avsc: { streams: {
    BlockEncoder: new (schema: object, opts?: BlockEncoderOptions) => Duplex;
    BlockDecoder: new (opts?: { noDecode?: boolean }) => Duplex & {
      on(event: 'metadata', cb: (type: unknown, codec: string, header: { meta: Record<string, Buffer> }) => void): unknown;
    };
  } };
  export default avsc;
}
