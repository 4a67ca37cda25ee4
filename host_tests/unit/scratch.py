# A test's own folder for the files it writes. conftest gives each test process a fresh one
# (TMPDIR) and removes it after: tests running side by side never share a name, and none is
# left behind.
import os


def path(name):
    return (os.getenv("TMPDIR") or "/tmp") + "/" + name
