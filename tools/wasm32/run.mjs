// Run a module in the 32-bit MicroPython WebAssembly port, as `micropython -m MODULE ARG...`.
//   node run.mjs DIR[:DIR...] MODULE ARG...
// Each DIR (a tree of .mpy files) is copied into the port's /lib; an ARG naming a file on
// this machine is copied to /data/<its name> and passed as that path. Prints what the
// module prints. One top-level call: this port collects garbage only between such calls.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "fs";
import path from "path";
import { copyTree } from "./fstree.mjs";

const [dirs, module, ...args] = process.argv.slice(2);
const mp = await loadMicroPython({ heapsize: 16 << 20, linebuffer: true, stdout: (line) => console.log(line) });

for (const dir of dirs.split(":")) copyTree(mp, dir, "/lib");
mp.FS.mkdir("/data");
const argv = args.map((a) => {
  if (!fs.existsSync(a) || !fs.statSync(a).isFile()) return a;
  const dst = "/data/" + path.basename(a);
  mp.FS.writeFile(dst, fs.readFileSync(a));
  return dst;
});
mp.runPython(
  "import sys\nsys.path.insert(0, '/lib')\nsys.argv[:] = " + JSON.stringify([module, ...argv]) +
  "\n__import__(" + JSON.stringify(module) + ")"
);
