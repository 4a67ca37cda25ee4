// Heap taken by importing modules, in the 32-bit MicroPython WebAssembly port.
//   node imports.mjs PRELUDE (DIR | IMAGE.romfs) MODULE...
// DIR: a tree of .mpy files, copied into the port's file system (imports load the code into
// the heap, as from a board's file system); IMAGE.romfs: a ROMFS image (code runs in place, as
// from a board's ROM partition). Prints "module bytes" per module, or "module ERR reason".
// This port collects garbage only between top-level calls, so every step is its own call.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "fs";
import { copyTree } from "./fstree.mjs";

const [prelude, tree, ...modules] = process.argv.slice(2);
const romfs = tree.endsWith(".romfs") ? new Uint8Array(fs.readFileSync(tree)) : undefined;
const mp = await loadMicroPython({ romfs, heapsize: 1 << 20, linebuffer: true, stdout: (line) => console.log(line) });

if (!romfs) copyTree(mp, tree, "/lib");
mp.runPython(fs.readFileSync(prelude, "utf8"));

function inUse() {
  mp.runPython("gc.collect()");
  mp.runPython("_used = gc.mem_alloc()");
  return mp.globals.get("_used");
}
let before = inUse();
for (const m of modules) {
  try {
    mp.runPython("import " + m);
  } catch (e) {
    console.log(m + " ERR " + String(e.message).trim().split("\n").pop());
    before = inUse();
    continue;
  }
  const now = inUse();
  console.log(m + " " + (now - before));
  before = now;
}
