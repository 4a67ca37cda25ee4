"""A simulated I2C bus with the exact `machine.I2C` surface, and the base of simulated chips.

Errors are those of the ESP32 port's hardware I2C: a NACK raises OSError(19) (ENODEV), a
stretched clock OSError(116) (ETIMEDOUT). A chip is told to fail through its attributes:

    bus = SimI2C()
    chip = bus.add(SimSHT4x(0x44))
    chip.unplug(); chip.plug()          # gone from the bus, then back after a power-on reset
    chip.timeout = True                 # every transaction times out
    chip.stuck_busy = True              # conversions never finish
    chip.corrupt_crc = True             # checksums in replies are wrong
"""

import time

ENODEV = 19
ETIMEDOUT = 116


def nack():
    raise OSError(ENODEV)


def now_us():
    return time.ticks_us()


def since_us(t):
    return time.ticks_diff(time.ticks_us(), t)


class SimChip:
    """Presence, faults and power-on state shared by all simulated chips."""

    def __init__(self, address):
        self.address = address
        self.present = True
        self.timeout = False
        self.stuck_busy = False
        self.corrupt_crc = False
        self.transactions = 0
        self.power_on()

    def power_on(self):
        """Reset to the state after power-up; subclasses extend."""

    def unplug(self):
        self.present = False

    def plug(self):
        self.present = True
        self.power_on()

    def write(self, data, stop):
        nack()

    def read(self, buf):
        nack()

    def crc(self, value):
        return value ^ 0xFF if self.corrupt_crc else value


def crc8(data):
    # Written out independently of drivers.crc8 so the simulator checks the driver.
    crc = 0xFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc << 1) ^ 0x31 if crc & 0x80 else crc << 1
        crc &= 0xFF
    return crc


def put_words(chip, buf, words):
    """Sensirion reply: each 16-bit word big-endian followed by its CRC."""
    i = 0
    for w in words:
        if i + 3 > len(buf):
            break
        pair = bytes(((w >> 8) & 0xFF, w & 0xFF))
        buf[i] = pair[0]
        buf[i + 1] = pair[1]
        buf[i + 2] = chip.crc(crc8(pair))
        i += 3
    while i < len(buf):
        buf[i] = 0xFF  # reading past the reply: the bus floats high
        i += 1


class SimI2C:
    """machine.I2C lookalike holding simulated chips."""

    def __init__(self, *chips, freq=400_000):
        self.freq = freq
        self._chips = {}
        for chip in chips:
            self.add(chip)

    def add(self, chip):
        self._chips[chip.address] = chip
        return chip

    def remove(self, address):
        self._chips.pop(address, None)

    def chip(self, address):
        return self._chips.get(address)

    def _target(self, addr):
        chip = self._chips.get(addr)
        if chip is None or not chip.present:
            nack()
        if chip.timeout:
            raise OSError(ETIMEDOUT)
        chip.transactions += 1
        return chip

    def scan(self):
        found = []
        for addr in sorted(self._chips):
            chip = self._chips[addr]
            if chip.present and not chip.timeout:
                found.append(addr)
        return found

    def writeto(self, addr, buf, stop=True):
        self._target(addr).write(bytes(buf), stop)
        return len(buf)

    def writevto(self, addr, vector, stop=True):
        data = b"".join(bytes(v) for v in vector)
        self._target(addr).write(data, stop)
        return len(data)

    def readfrom_into(self, addr, buf, stop=True):
        self._target(addr).read(buf)

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)

    def _memaddr(self, memaddr, addrsize):
        if addrsize == 8:
            return bytes((memaddr & 0xFF,))
        if addrsize == 16:
            return bytes(((memaddr >> 8) & 0xFF, memaddr & 0xFF))
        raise ValueError("addrsize")

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        chip = self._target(addr)
        chip.write(self._memaddr(memaddr, addrsize), False)  # then a repeated start
        chip.read(buf)

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        self._target(addr).write(self._memaddr(memaddr, addrsize) + bytes(buf), True)
