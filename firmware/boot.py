# Runs first on every boot of an ESP32 board, soft resets included, then main.py runs.
# Kept to what cannot fail: anything that goes wrong later must still leave the USB REPL
# reachable, and a mistake here would run before every chance to fix it.
import micropython

# Room to format an exception raised in an interrupt handler (e.g. a pin IRQ), which cannot
# allocate; without it such an error prints no traceback at all.
micropython.alloc_emergency_exception_buf(100)
