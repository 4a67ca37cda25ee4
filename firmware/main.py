# The firmware on an ESP32 board: the twin of firmware/host.py. MicroPython runs it after
# boot.py. It reads /config.json (and the CA it names), checks the safe-mode button and the
# "safe_mode" flag, then joins WiFi, sets the clock over NTP and runs the XMPP sensor under
# a supervised watchdog (lib/thing/startup.py and firmware.py). Whatever stops it from
# starting is printed, and the board stays at the REPL on USB: Ctrl-D (a soft reset) tries
# again (a second `import main` would not: the module is imported already).
# Kept as source (deployed as is); all the logic is compiled .mpy under /lib.
try:
    from thing import startup
except ImportError as e:
    print("main.py: the libraries are missing (%r); run make deploy" % (e,))
else:
    startup.main()
