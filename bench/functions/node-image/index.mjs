// Image flip and rotate with jimp, pure JavaScript (TrEnv: IFR, the Node.js port
// of FunctionBench's image_processing). The input, a 320x240 PNG with a
// gradient and blocks, is generated at init, standing in for the download.
import { Jimp } from 'jimp';

function makeInput() {
  const image = new Jimp({ width: 320, height: 240, color: 0xffffffff });
  let x = 3;
  const rand = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  image.scan(0, 0, 320, 240, (px, py, idx) => {
    image.bitmap.data[idx] = (px * 255) / 320;
    image.bitmap.data[idx + 1] = (py * 255) / 240;
    image.bitmap.data[idx + 2] = rand() & 0xff;
  });
  return image.getBuffer('image/png');
}

const INPUT = await makeInput();

export const handler = async () => {
  const outputs = {};
  for (const [name, op] of [
    ['flip', (im) => im.flip({ horizontal: true, vertical: false })],
    ['rotate', (im) => im.rotate(90)],
    ['resize', (im) => im.resize({ w: 160, h: 120 })],
    ['gray', (im) => im.greyscale()],
  ]) {
    const image = await Jimp.read(INPUT);
    op(image);
    outputs[name] = (await image.getBuffer('image/jpeg')).length;
  }
  return { input: INPUT.length, outputs };
};
