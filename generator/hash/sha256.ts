// sha256 (hex) of a string (as UTF-8) or of bytes, in one call. crypto.hash
// (Node 20.12+) makes no Hash object: for thousands of small inputs that
// object is most of the cost, and work for the garbage collector. Older
// Nodes take createHash.

import { createHash, hash } from 'node:crypto';

export const sha256Hex: (data: string | Uint8Array) => string =
  typeof hash === 'function' ? (data) => hash('sha256', data, 'hex') : (data) => createHash('sha256').update(data).digest('hex');
