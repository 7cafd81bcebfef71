// JSON serialise/parse (TrEnv: JJS, the Node.js port of FunctionBench's
// json_dumps_loads). The document is generated at init.
let x = 42;
const rand = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
const letters = 'abcdefghijklmnopqrstuvwxyz';
const DOCUMENT = {
  items: Array.from({ length: 2000 }, (_, i) => ({
    id: i,
    name: Array.from({ length: 12 }, () => letters[Math.floor(rand() * 26)]).join(''),
    price: Math.round(rand() * 100000) / 100,
    tags: Array.from({ length: 3 }, () => ['red', 'green', 'blue', 'sale', 'new'][Math.floor(rand() * 5)]),
    stock: { warehouse: Math.floor(rand() * 500), store: Math.floor(rand() * 50) },
  })),
};

export const handler = async (event) => {
  const rounds = Number(event.rounds ?? 3);
  let size = 0;
  let parsed;
  for (let i = 0; i < rounds; i++) {
    const text = JSON.stringify(DOCUMENT);
    parsed = JSON.parse(text);
    size = text.length;
  }
  return { bytes: size, items: parsed.items.length, rounds };
};
