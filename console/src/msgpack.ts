// Reads MessagePack, the encoding the Flyte SDK gives dataclasses, pydantic models and other
// structured values (a `Binary` literal tagged `msgpack`), so the console can show them as
// data. Extension types are shown by their type number; nothing here runs user content.

export type Decoded = null | boolean | number | string | Decoded[] | { [key: string]: Decoded };

export function decodeMsgpack(bytes: Uint8Array): Decoded {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder();
  let at = 0;
  const take = (count: number) => {
    if (at + count > bytes.length) throw new Error("truncated msgpack");
    const start = at;
    at += count;
    return start;
  };
  const str = (length: number) => text.decode(bytes.subarray(take(length), at));
  const array = (length: number): Decoded[] => Array.from({ length }, () => value());
  const map = (length: number) => {
    const out: { [key: string]: Decoded } = {};
    for (let i = 0; i < length; i++) {
      const key = value();
      out[typeof key === "string" ? key : JSON.stringify(key)] = value();
    }
    return out;
  };
  const ext = (length: number) => {
    const type = view.getInt8(take(1));
    take(length);
    return `<msgpack extension ${type}, ${length} bytes>`;
  };
  const value = (): Decoded => {
    const byte = view.getUint8(take(1));
    if (byte <= 0x7f) return byte;
    if (byte >= 0xe0) return byte - 0x100;
    if ((byte & 0xf0) === 0x80) return map(byte & 0x0f);
    if ((byte & 0xf0) === 0x90) return array(byte & 0x0f);
    if ((byte & 0xe0) === 0xa0) return str(byte & 0x1f);
    switch (byte) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: { const n = view.getUint8(take(1)); take(n); return `<${n} bytes>`; }
      case 0xc5: { const n = view.getUint16(take(2)); take(n); return `<${n} bytes>`; }
      case 0xc6: { const n = view.getUint32(take(4)); take(n); return `<${n} bytes>`; }
      case 0xc7: return ext(view.getUint8(take(1)));
      case 0xc8: return ext(view.getUint16(take(2)));
      case 0xc9: return ext(view.getUint32(take(4)));
      case 0xca: return view.getFloat32(take(4));
      case 0xcb: return view.getFloat64(take(8));
      case 0xcc: return view.getUint8(take(1));
      case 0xcd: return view.getUint16(take(2));
      case 0xce: return view.getUint32(take(4));
      case 0xcf: return Number(view.getBigUint64(take(8)));
      case 0xd0: return view.getInt8(take(1));
      case 0xd1: return view.getInt16(take(2));
      case 0xd2: return view.getInt32(take(4));
      case 0xd3: return Number(view.getBigInt64(take(8)));
      case 0xd4: return ext(1);
      case 0xd5: return ext(2);
      case 0xd6: return ext(4);
      case 0xd7: return ext(8);
      case 0xd8: return ext(16);
      case 0xd9: return str(view.getUint8(take(1)));
      case 0xda: return str(view.getUint16(take(2)));
      case 0xdb: return str(view.getUint32(take(4)));
      case 0xdc: return array(view.getUint16(take(2)));
      case 0xdd: return array(view.getUint32(take(4)));
      case 0xde: return map(view.getUint16(take(2)));
      case 0xdf: return map(view.getUint32(take(4)));
      default: throw new Error(`unknown msgpack byte 0x${byte.toString(16)}`);
    }
  };
  return value();
}

export function base64Bytes(encoded: string): Uint8Array {
  const binary = atob(encoded.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}
