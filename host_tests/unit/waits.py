"""Waiting for an event in a test, not for a time: a loaded host is slow, so the bound only
guards against a hang."""

import asyncio


async def until(done, ms=10_000, what="not done"):
    """Poll until done() is true; AssertionError(what) after `ms`."""
    for _ in range(ms // 5):
        if done():
            return
        await asyncio.sleep_ms(5)
    raise AssertionError("%s within %d ms" % (what, ms))
