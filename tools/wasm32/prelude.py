# Run before the measured imports, in both ports, so that each figure is the module's own
# share. The WebAssembly port lacks hashlib.sha1, ssl and socket (an ESP32 has them all):
# import-time stand-ins are enough, as nothing here runs them.
import asyncio  # noqa: F401 - every board has it loaded before the stack
import binascii  # noqa: F401
import gc  # noqa: F401 - imports.mjs collects through this name
import hashlib
import json  # noqa: F401
import re  # noqa: F401
import struct  # noqa: F401
import sys

sys.path[:0] = ["/rom", "/lib"]
if not hasattr(hashlib, "sha1"):

    class _hashlib:
        sha1 = sha256 = hashlib.sha256

    sys.modules["hashlib"] = _hashlib
try:
    import ssl  # noqa: F401
except ImportError:

    class _ssl:
        CERT_REQUIRED = 2
        PROTOCOL_TLS_CLIENT = 0

    sys.modules["ssl"] = _ssl
try:
    import socket  # noqa: F401
except ImportError:

    class _socket:
        SOCK_STREAM = 1
        getaddrinfo = socket = None

    sys.modules["socket"] = _socket
