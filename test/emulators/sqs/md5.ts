import { createHash } from 'node:crypto';

export interface SqsAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Buffer;
}

/** MD5OfMessageBody / MD5OfBody: hex MD5 of the body's UTF-8 bytes (the SDK's middleware-sdk-sqs re-computes it). */
export function md5OfBody(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex');
}

/**
 * MD5OfMessageAttributes, as the SQS Developer Guide ("Calculating the MD5 message digest for message
 * attributes") specifies: attributes sorted by name; for each, the name, the data type and the value,
 * each as a 4-byte big-endian length followed by its bytes, with a one-byte transport type (1 for
 * String and Number, 2 for Binary) between data type and value; MD5 over the concatenation.
 */
export function md5OfAttributes(attributes: Record<string, SqsAttributeValue>): string {
  const hash = createHash('md5');
  const lengthPrefixed = (bytes: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    hash.update(len);
    hash.update(bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const attr = attributes[name]!;
    lengthPrefixed(Buffer.from(name, 'utf8'));
    lengthPrefixed(Buffer.from(attr.DataType, 'utf8'));
    const binary = attr.DataType.split('.')[0] === 'Binary';
    hash.update(Buffer.from([binary ? 2 : 1]));
    lengthPrefixed(binary ? (attr.BinaryValue ?? Buffer.alloc(0)) : Buffer.from(attr.StringValue ?? '', 'utf8'));
  }
  return hash.digest('hex');
}
