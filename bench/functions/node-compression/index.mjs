// SeBS "compression": compress and decompress a generated text with gzip and
// brotli (node:zlib), checking the round trip.
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);
const brotli = promisify(zlib.brotliCompress);
const unbrotli = promisify(zlib.brotliDecompress);

const WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(' ');

function text(bytes, seed) {
  let x = seed >>> 0 || 1;
  const parts = [];
  let size = 0;
  while (size < bytes) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const word = WORDS[x % WORDS.length];
    parts.push(word);
    size += word.length + 1;
  }
  return Buffer.from(parts.join(' '));
}

export const handler = async (event) => {
  const input = text(Number(event.bytes ?? 512 * 1024), Number(event.seed ?? 1));
  const gz = await gzip(input);
  const br = await brotli(input, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });
  const ok = (await gunzip(gz)).equals(input) && (await unbrotli(br)).equals(input);
  if (!ok) throw new Error('round trip mismatch');
  return { input: input.length, gzip: gz.length, brotli: br.length };
};
