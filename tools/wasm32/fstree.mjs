// Shared by the scripts here: copy a tree of files into the WebAssembly port's file system.
import fs from "fs";
import path from "path";

export function copyTree(mp, src, dst) {
  try { mp.FS.mkdir(dst); } catch (e) { /* exists */ }
  for (const name of fs.readdirSync(src)) {
    const from = path.join(src, name);
    if (fs.statSync(from).isDirectory()) copyTree(mp, from, dst + "/" + name);
    else mp.FS.writeFile(dst + "/" + name, fs.readFileSync(from));
  }
}
