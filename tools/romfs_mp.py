# Run a module with its code in place from a ROMFS image, as a board runs frozen code or code
# from its ROMFS partition: the bytecode stays out of the heap, only the objects it makes are
# on it. Usage: micropython tools/romfs_mp.py IMAGE MODULE ARG...
# The image is read before anything else, into one bytes object that stays for the whole run
# (the unix port has no flash to map it from): it takes the first heap blocks, in one piece,
# and a run's heap less the image's size is what code in place leaves to the program. It is
# mounted at /rom; MODULE is then imported from MICROPYPATH (e.g. /rom/tools, as `-m` would)
# with sys.argv = [MODULE, ARG...]. `tools/hostboard.py` (romfs_image) makes an image.
import os
import sys

_size = os.stat(sys.argv[1])[6]
with open(sys.argv[1], "rb") as _f:
    _rom = _f.read(_size)  # one allocation of the exact size (read() grows it in steps)

import vfs  # noqa: E402

vfs.mount(vfs.VfsRom(_rom), "/rom")
del sys.path[0]  # this script's folder, which holds the tools' sources
sys.argv[:] = sys.argv[2:]
__import__(sys.argv[0])
