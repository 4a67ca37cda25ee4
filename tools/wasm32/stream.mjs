// Heap in use while the tokenizer parses a stream, in the 32-bit MicroPython WebAssembly port
// with its code in place from a ROMFS image (as frozen or ROMFS code runs on a board).
//   node stream.mjs IMAGE.romfs STREAM CHUNK
// IMAGE holds lib/xmlstream. Prints "HEAP32 imported peak after": the heap in use (after a
// collection) with the tokenizer imported and a parser made, the most in use after any one
// chunk before its collection (what the chunk left as garbage included), and at the end.
// This port collects garbage only between top-level calls, and its heap grows rather than
// fail, so no smallest heapsize can be bisected here: each chunk is its own call instead.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "fs";

const [image, stream, chunk] = process.argv.slice(2);
const romfs = new Uint8Array(fs.readFileSync(image));
const mp = await loadMicroPython({ romfs, linebuffer: true, stdout: (line) => console.log(line) });
mp.FS.writeFile("/stream.xml", fs.readFileSync(stream));

mp.runPython(`
import gc, sys
sys.path[:0] = ["/rom/lib"]
from xmlstream.tokenizer import Tokenizer

class Null:
    def start(self, name, attrs, ns):
        pass

    def end(self, name):
        pass

    def text(self, s):
        pass

tok = Tokenizer(Null())
buf = bytearray(${Number(chunk)})
view = memoryview(buf)
src = open("/stream.xml", "rb")
gc.collect()
imported = peak = gc.mem_alloc()
`);
for (;;) {
  mp.runPython("n = src.readinto(buf)\nif n:\n    tok.feed(view[:n])\npeak = max(peak, gc.mem_alloc())\ngc.collect()");
  if (!mp.globals.get("n")) break;
}
mp.runPython("print('HEAP32', imported, peak, gc.mem_alloc())");
